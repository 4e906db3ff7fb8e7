#!/usr/bin/env bash
# Build a bootable arm64 Raspberry Pi 4/5 SD-card image of the home hub, in stages.
#
#   sudo image_build/build.sh                       # all stages -> build/image/hub.img
#   sudo image_build/build.sh --read-only           # root read-only under overlayroot
#   sudo image_build/build.sh --only rootfs,hub     # the stages CI runs
#   sudo image_build/build.sh --skip models --force kernel
#
# Stages (each leaves a marker in WORK/.done-STAGE; a stage already done is skipped
# unless --force names it, so a failed build goes on where it stopped):
#   rootfs    debootstrap bookworm arm64 (qemu-user-static); .debs cached in ~/.cache/elder-hub
#   packages  the Pi's packages through apt: cage, espeak-ng, CJK fonts, BlueZ, NetworkManager…
#   kernel    raspi-firmware + linux-image-arm64 (non-free-firmware), initramfs built once
#   hub       a wheel of the repo's HEAD commit + pinned wheels (requirements-image.lock)
#             into /opt/hub/venv; users, groups, units, journald limits, fstab, config
#   models    vosk models for the configured languages, pinned URL + SHA-256 (models.lock)
#   image     boot (FAT), root (ext4) and data (ext4) partitions assembled into one file
#             without loop mounts: mkfs.ext4 -d, mkfs.vfat -C + mcopy, sfdisk, dd conv=notrunc
#
# Runs as root (chroot) on Debian bookworm with: debootstrap qemu-user-static
# binfmt-support mtools dosfstools fdisk e2fsprogs (scripts/install-system-deps.sh).
# No Docker, no loop devices, no device-mapper, no vfat driver needed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="${HUB_REPO:-$(cd "$HERE/.." && pwd)}"
SUITE=bookworm
MIRROR="${HUB_IMAGE_MIRROR:-http://deb.debian.org/debian}"
WORK="$REPO/build/image"
CACHE="${HUB_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elder-hub}"
LANGUAGES="en,zh_CN,ko"
READ_ONLY=0
IMAGE_MB=3584        # the whole image; any card of 4 GB or more takes it
BOOT_MB=256
DATA_MB=512
ONLY="" SKIP="" FORCE=""
ALL_STAGES=(rootfs packages kernel hub models image)

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --cache) CACHE="$2"; shift 2 ;;
    --languages) LANGUAGES="$2"; shift 2 ;;
    --read-only) READ_ONLY=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --skip) SKIP="$2"; shift 2 ;;
    --force) FORCE="$2"; shift 2 ;;
    --image-mb) IMAGE_MB="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (debootstrap and chroot need it)" >&2; exit 1; }

ROOT="$WORK/root"
START=$(date +%s)
mkdir -p "$WORK" "$CACHE"

has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }
wanted() {  # should stage $1 run?
  if [ -n "$ONLY" ] && ! has "$ONLY" "$1"; then return 1; fi
  if [ -n "$SKIP" ] && has "$SKIP" "$1"; then return 1; fi
  return 0
}
log() { printf '    %s\n' "$*"; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# -- host preparation: register qemu-aarch64 with binfmt_misc (idempotent) -------------
prepare_host() {
  for tool in debootstrap mkfs.ext4 mkfs.vfat mcopy sfdisk qemu-aarch64-static; do
    command -v "$tool" >/dev/null || {
      echo "build.sh: $tool is missing; run: sudo bash scripts/install-system-deps.sh" >&2; exit 1; }
  done
  if [ "$(uname -m)" != aarch64 ]; then
    mountpoint -q /proc/sys/fs/binfmt_misc || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || {
      echo "build.sh: qemu-aarch64 is not registered with binfmt_misc (update-binfmts --enable qemu-aarch64)" >&2
      exit 1; }
  fi
}

# Mount what a chroot needs for package scripts; always unmounted on exit.
MOUNTED=()
chroot_mounts() {
  for m in proc sys dev dev/pts; do
    mountpoint -q "$ROOT/$m" && continue
    mkdir -p "$ROOT/$m"
    case $m in
      proc) mount -t proc proc "$ROOT/proc" ;;
      sys) mount -t sysfs sys "$ROOT/sys" ;;
      dev) mount --bind /dev "$ROOT/dev" ;;
      dev/pts) mount -t devpts devpts "$ROOT/dev/pts" ;;
    esac
    MOUNTED=("$ROOT/$m" "${MOUNTED[@]}")
  done
  # No daemon may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
}
cleanup() {
  for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null || true; done
  MOUNTED=()
}
trap cleanup EXIT

# -- stage: rootfs ---------------------------------------------------------------------
BASE_PACKAGES="systemd-sysv,dbus,libpam-systemd,udev,kmod,iproute2,ca-certificates,tzdata,\
python3,python3-venv,systemd-timesyncd,locales,e2fsprogs"
stage_rootfs() {
  local key tarball rootfs_tar
  key=$(printf '%s %s %s' "$SUITE" "$MIRROR" "$BASE_PACKAGES" | sha256sum | cut -c1-12)
  tarball="$CACHE/debootstrap-$SUITE-arm64-$key.tgz"
  rootfs_tar="$CACHE/rootfs-$SUITE-arm64-$key.tar"
  cleanup
  rm -rf "$ROOT"
  # debootstrap's second stage runs every package script under qemu (4-12 min): its result
  # is cached too, per package list; HUB_IMAGE_FRESH=1 ignores the cache (--force rootfs
  # with it for a release build).
  if [ -s "$rootfs_tar" ] && [ "${HUB_IMAGE_FRESH:-0}" != 1 ]; then
    mkdir -p "$ROOT"
    tar --numeric-owner -xpf "$rootfs_tar" -C "$ROOT"
    log "root file system from cache $rootfs_tar (HUB_IMAGE_FRESH=1 to debootstrap again)"
    chroot_mounts
    return
  fi
  if [ ! -s "$tarball" ]; then
    log "downloading the base packages once into $tarball"
    debootstrap --arch=arm64 --variant=minbase --components=main,non-free-firmware \
      --include="$BASE_PACKAGES" --make-tarball="$tarball.part" "$SUITE" "$WORK/tarball-tmp" "$MIRROR" \
      >"$WORK/debootstrap-download.log" 2>&1 || { tail -20 "$WORK/debootstrap-download.log"; exit 1; }
    mv "$tarball.part" "$tarball"; rm -rf "$WORK/tarball-tmp"
  else
    log "base packages from cache $tarball"
  fi
  debootstrap --arch=arm64 --variant=minbase --components=main,non-free-firmware \
    --include="$BASE_PACKAGES" --unpack-tarball="$tarball" "$SUITE" "$ROOT" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main non-free-firmware
deb $MIRROR $SUITE-updates main non-free-firmware
deb http://security.debian.org/debian-security $SUITE-security main non-free-firmware
EOF
  # Nothing recommended, no documentation: a smaller image and fewer writes.
  cat > "$ROOT/etc/apt/apt.conf.d/90hub" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
  echo hub > "$ROOT/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thub\n' > "$ROOT/etc/hosts"
  sed -i 's/^# *\(en_US.UTF-8\)/\1/; s/^# *\(ko_KR.UTF-8\)/\1/; s/^# *\(zh_CN.UTF-8\)/\1/' "$ROOT/etc/locale.gen"
  chroot_mounts
  in_root locale-gen >/dev/null
  cleanup
  tar --numeric-owner -cpf "$rootfs_tar.part" -C "$ROOT" . && mv "$rootfs_tar.part" "$rootfs_tar"
  chroot_mounts
  log "$(du -sxh "$ROOT" 2>/dev/null | cut -f1) root file system"
}

# -- stage: packages -------------------------------------------------------------------
PI_PACKAGES=(
  cage seatd libgl1-mesa-dri libegl1 libgles2 libmtdev1 xwayland  # the kiosk on tty1
  espeak-ng alsa-utils libportaudio2                     # speech, alarm sound, microphone
  fonts-noto-cjk                                         # Chinese and Korean
  bluez network-manager wireless-regdb iw                # Bluetooth devices, Wi-Fi
  sqlite3 overlayroot gpiod rfkill                       # technicians' tools, read-only root
)
stage_packages() {
  chroot_mounts
  in_root apt-get update -qq
  in_root apt-get install -y -qq "${PI_PACKAGES[@]}" >"$WORK/packages.log" 2>&1 \
    || { tail -30 "$WORK/packages.log"; exit 1; }
  in_root apt-get clean
  log "$(du -sxh "$ROOT" 2>/dev/null | cut -f1) root file system"
}

# -- stage: kernel ---------------------------------------------------------------------
stage_kernel() {
  chroot_mounts
  in_root apt-get update -qq
  # update-initramfs would run once per package (≈6 min each under qemu): divert it, run it once.
  in_root dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
  printf '#!/bin/sh\nexit 0\n' > "$ROOT/usr/sbin/update-initramfs"; chmod 0755 "$ROOT/usr/sbin/update-initramfs"
  mkdir -p "$ROOT/boot/firmware" "$ROOT/etc/default"
  # raspi-firmware regenerates config.txt and cmdline.txt at every kernel update from these.
  printf 'ROOTPART=LABEL=HUBROOT\nCONSOLES="tty1"\n' > "$ROOT/etc/default/raspi-firmware"
  printf 'dtparam=audio=on\ndisable_splash=1\n' > "$ROOT/etc/default/raspi-firmware-custom"
  in_root apt-get install -y -qq -o Dpkg::Options::=--force-confold initramfs-tools raspi-firmware linux-image-arm64 firmware-brcm80211 \
    >"$WORK/kernel.log" 2>&1 || { tail -30 "$WORK/kernel.log"; exit 1; }
  rm -f "$ROOT/usr/sbin/update-initramfs"
  in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
  # Only what finds and mounts the root: the Pi 4/5 SD and USB controllers, qemu's virtio
  # disk for the bench, ext4 (overlayroot's hook adds overlay). MODULES=most would copy
  # ~3,000 modules one by one under qemu (>20 min); dep would look at the build host.
  sed -i 's/^MODULES=.*/MODULES=list/' "$ROOT/etc/initramfs-tools/initramfs.conf"
  printf '%s\n' sdhci-iproc sdhci-brcmstb mmc_block xhci_pci xhci_plat_hcd usb_storage uas \
    virtio_pci virtio_mmio virtio_blk ext4 > "$ROOT/etc/initramfs-tools/modules"
  log "building the initramfs once"
  in_root update-initramfs -c -k all >>"$WORK/kernel.log" 2>&1
  # raspi-firmware's hook copies kernel, initrd and DTBs to /boot/firmware.
  in_root /etc/kernel/postinst.d/z50-raspi-firmware "$(ls "$ROOT/lib/modules" | head -1)" >>"$WORK/kernel.log" 2>&1 || true
  in_root apt-get clean
  log "kernel $(ls "$ROOT/lib/modules" | head -1)"
}

# -- stage: hub ------------------------------------------------------------------------
stage_hub() {
  local src wheelhouse commit
  chroot_mounts
  src="$WORK/src"; wheelhouse="$CACHE/wheelhouse"
  rm -rf "$src"; mkdir -p "$src" "$wheelhouse"
  # A wheel of the committed tree only: never .git, .venv, build output or local edits.
  commit=$(git -C "$REPO" rev-parse HEAD)
  git -C "$REPO" archive --format=tar HEAD | tar -x -C "$src"
  log "hub from commit ${commit:0:12}"
  local PIP=("$REPO/.venv/bin/python" -m pip)
  [ -x "$REPO/.venv/bin/python" ] || PIP=(python3 -m pip)
  "${PIP[@]}" wheel --quiet --no-deps --wheel-dir "$src/dist" "$src" >"$WORK/wheel.log" 2>&1 \
    || { tail -20 "$WORK/wheel.log"; exit 1; }
  "${PIP[@]}" download --quiet --require-hashes --no-deps --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    --platform manylinux_2_36_aarch64 --platform manylinux_2_34_aarch64 \
    --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
    -r "$HERE/requirements-image.lock" -d "$wheelhouse" >"$WORK/download.log" 2>&1 \
    || { tail -20 "$WORK/download.log"; exit 1; }

  # Users: the core (hub), the kiosk (hub-kiosk), voice (hub-voice). Groups for devices.
  for g in gpio bluetooth netdev; do in_root groupadd -f --system "$g"; done
  in_root sh -e -c '
    getent group hub >/dev/null || groupadd --system hub
    id hub >/dev/null 2>&1 || useradd --system --gid hub --home-dir /var/lib/hub --no-create-home --shell /usr/sbin/nologin hub
    id hub-kiosk >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/cache/hub-kiosk --no-create-home --shell /usr/sbin/nologin hub-kiosk
    id hub-voice >/dev/null 2>&1 || useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin hub-voice
    usermod -aG gpio,bluetooth,audio hub
    usermod -aG hub,video,input,render,audio,netdev hub-kiosk
    usermod -aG hub,audio hub-voice
    passwd -l root >/dev/null'
  # /dev/gpiochip* to group gpio (Debian has no such rule; Raspberry Pi OS does).
  echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' \
    > "$ROOT/etc/udev/rules.d/60-hub-gpio.rules"

  # The venv, from the wheelhouse only; pip itself comes from the pinned wheel.
  rm -rf "$ROOT/opt/hub" "$ROOT/tmp/wheelhouse"
  mkdir -p "$ROOT/opt/hub/share" "$ROOT/tmp/wheelhouse"
  cp "$wheelhouse"/*.whl "$src"/dist/*.whl "$HERE/requirements-image.lock" "$ROOT/tmp/wheelhouse/"
  in_root python3 -m venv --without-pip /opt/hub/venv
  local pipwhl; pipwhl=$(cd "$ROOT/tmp/wheelhouse" && ls pip-*.whl)
  in_root /opt/hub/venv/bin/python "/tmp/wheelhouse/$pipwhl/pip" install --quiet --no-index \
    --no-compile --find-links /tmp/wheelhouse --require-hashes -r /tmp/wheelhouse/requirements-image.lock \
    >"$WORK/pip.log" 2>&1 || { tail -20 "$WORK/pip.log"; exit 1; }
  in_root /opt/hub/venv/bin/pip install --quiet --no-index --no-deps --no-compile \
    "/tmp/wheelhouse/$(cd "$ROOT/tmp/wheelhouse" && ls elder_home_hub-*.whl)" >>"$WORK/pip.log" 2>&1
  in_root /opt/hub/venv/bin/pip check >>"$WORK/pip.log" 2>&1 || { tail -20 "$WORK/pip.log"; exit 1; }
  # Byte-compile once here, so a read-only root never tries to write __pycache__.
  in_root /opt/hub/venv/bin/python -m compileall -q /opt/hub/venv/lib >/dev/null 2>&1 || true
  rm -rf "$ROOT/tmp/wheelhouse"
  cp -r "$src/assets" "$ROOT/opt/hub/assets"
  cp -r "$src/docs" "$ROOT/opt/hub/share/docs"
  cp "$src/README.md" "$ROOT/opt/hub/share/"
  printf 'commit=%s\nbuilt=%s\nlanguages=%s\nread_only=%s\n' "$commit" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$LANGUAGES" "$READ_ONLY" > "$ROOT/opt/hub/BUILD-INFO"

  # Units, journald limits, and enable them.
  install -m 0644 "$src"/systemd/hub-*.service "$ROOT/etc/systemd/system/"
  mkdir -p "$ROOT/etc/systemd/journald.conf.d"
  install -m 0644 "$src/systemd/journald-hub.conf" "$ROOT/etc/systemd/journald.conf.d/hub.conf"
  in_root systemctl enable hub-core.service hub-kiosk.service hub-voice.service \
    hub-firstboot.service >/dev/null 2>&1
  in_root systemctl set-default graphical.target >/dev/null 2>&1
  in_root systemctl mask getty@tty1.service >/dev/null 2>&1
  # No swap on the card (Debian makes none; keep it so even if dphys-swapfile creeps in).
  in_root systemctl mask dphys-swapfile.service >/dev/null 2>&1 || true

  # Config: 0640 root:hub, written by the hub's own TOML writer, validated by its loader.
  mkdir -p "$ROOT/etc/hub"
  in_root /opt/hub/venv/bin/python - "$LANGUAGES" <<'PY'
import os, sys, tomli_w
from hub.config import load_config
first = sys.argv[1].split(",")[0]
doc = {"hub": {"state_dir": "/var/lib/hub", "language": first},
       "sos": {"button_countdown": 0}}
tmp = "/etc/hub/.hub.toml.tmp"
with open(tmp, "wb") as fh:
    fh.write(tomli_w.dumps(doc).encode())
load_config(tmp)
os.chmod(tmp, 0o640)
os.chown(tmp, 0, __import__("grp").getgrnam("hub").gr_gid)
os.replace(tmp, "/etc/hub/hub.toml")
PY
  # State on its own partition (see stage image); the mount point exists on the root.
  install -d -m 0750 -o "$(in_root id -u hub)" -g "$(in_root id -g hub)" "$ROOT/var/lib/hub"
  cat > "$ROOT/etc/fstab" <<'EOF'
# <file system>    <mount point>   <type> <options>                          <dump> <pass>
LABEL=HUBROOT      /               ext4   defaults,noatime,commit=60          0 1
LABEL=HUBBOOT      /boot/firmware  vfat   defaults,noatime,umask=0077         0 2
# The hub's database and token: its own partition, never in overlayroot's RAM overlay.
LABEL=HUBDATA      /var/lib/hub    ext4   defaults,noatime,nosuid,nodev,noexec,errors=remount-ro 0 2
EOF
  if [ "$READ_ONLY" = 1 ]; then
    # recurse=0: only / goes into the RAM overlay; /var/lib/hub and /boot/firmware stay
    # real, so the SQLite buffer survives a reboot (overlayroot's default recurse=1 would not).
    echo 'overlayroot="tmpfs:swap=0,recurse=0"' > "$ROOT/etc/overlayroot.local.conf"
  else
    rm -f "$ROOT/etc/overlayroot.local.conf"
  fi
  log "hub $(in_root /opt/hub/venv/bin/hub version | cut -d' ' -f2) in /opt/hub/venv"
}

# -- stage: models ---------------------------------------------------------------------
stage_models() {
  local lang name url sha file
  mkdir -p "$CACHE/models" "$ROOT/usr/share/hub/voice-models"
  for lang in ${LANGUAGES//,/ }; do
    read -r name url sha < <(awk -v l="$lang" '$1 == l {print $2, $3, $4}' "$HERE/models.lock") || true
    [ -n "${name:-}" ] || { echo "build.sh: no model for language $lang in models.lock" >&2; exit 1; }
    [ "${sha:-}" != "-" ] && [ -n "${sha:-}" ] || {
      echo "build.sh: models.lock has no SHA-256 for $name; pin it (sha256sum of the .zip) or use --skip models" >&2
      exit 1; }
    file="$CACHE/models/$name.zip"
    if [ ! -s "$file" ] || ! echo "$sha  $file" | sha256sum -c --quiet 2>/dev/null; then
      log "downloading $url"
      curl -fL --retry 3 -o "$file.part" "$url"; mv "$file.part" "$file"
    fi
    echo "$sha  $file" | sha256sum -c --quiet || { echo "build.sh: $file: SHA-256 mismatch" >&2; exit 1; }
    rm -rf "${ROOT:?}/usr/share/hub/voice-models/$name"
    python3 -m zipfile -e "$file" "$ROOT/usr/share/hub/voice-models/"  # [voice] models_dir
    log "$name for $lang"
  done
}

# -- stage: image ----------------------------------------------------------------------
stage_image() {
  local img="$WORK/hub.img" parts="$WORK/parts" boot_start=8192 root_mb
  cleanup
  rm -rf "$parts"; mkdir -p "$parts"
  root_mb=$((IMAGE_MB - BOOT_MB - DATA_MB - 8))
  # Boot partition: FAT32 made in a file, filled with mtools (no vfat driver, no mount).
  local bootsrc="$ROOT/boot/firmware"
  mkdir -p "$bootsrc"
  local cmdline="console=serial0,115200 console=tty1 root=LABEL=HUBROOT rootfstype=ext4 fsck.repair=yes rootwait quiet"
  [ "$READ_ONLY" = 1 ] && cmdline="$cmdline overlayroot=disabled"  # first boot provisions, then on
  echo "$cmdline" > "$bootsrc/cmdline.txt"
  grep -q '^dtoverlay=vc4-kms-v3d' "$bootsrc/config.txt" 2>/dev/null || cat >> "$bootsrc/config.txt" <<'EOF'
# Home hub: KMS display (the official 7" touchscreen is detected), audio on.
[all]
arm_64bit=1
dtoverlay=vc4-kms-v3d
display_auto_detect=1
dtparam=audio=on
disable_splash=1
EOF
  cp "$HERE/hub-provision.toml.example" "$bootsrc/hub-provision.toml.example"
  mkfs.vfat -C -F 32 -n HUBBOOT "$parts/boot.vfat" $((BOOT_MB * 1024)) >/dev/null
  if [ -n "$(ls -A "$bootsrc")" ]; then
    mcopy -s -i "$parts/boot.vfat" "$bootsrc"/* ::/
  fi
  # Data partition: the hub's state, owned by hub:hub.
  mkdir -p "$parts/data"
  chown "$(stat -c %u:%g "$ROOT/var/lib/hub")" "$parts/data"; chmod 0750 "$parts/data"
  mkfs.ext4 -q -L HUBDATA -d "$parts/data" "$parts/data.ext4" "${DATA_MB}M"
  # Root partition from the tree, without /boot/firmware's content (it is on FAT).
  mv "$bootsrc" "$parts/bootfs"; mkdir -p "$bootsrc"
  mkfs.ext4 -q -L HUBROOT -E root_owner=0:0 -d "$ROOT" "$parts/root.ext4" "${root_mb}M" \
    || { rmdir "$bootsrc"; mv "$parts/bootfs" "$bootsrc"; exit 1; }
  rmdir "$bootsrc"; mv "$parts/bootfs" "$bootsrc"
  # Partition table on the image file, then each partition written at its offset.
  rm -f "$img"; truncate -s "${IMAGE_MB}M" "$img"
  sfdisk --quiet "$img" <<EOF
label: dos
start=$boot_start, size=$((BOOT_MB * 2048)), type=c, bootable
start=$((boot_start + BOOT_MB * 2048)), size=$((root_mb * 2048)), type=83
start=$((boot_start + BOOT_MB * 2048 + root_mb * 2048)), size=$((DATA_MB * 2048)), type=83
EOF
  dd if="$parts/boot.vfat" of="$img" bs=1M seek=$((boot_start / 2048)) conv=notrunc,sparse status=none
  dd if="$parts/root.ext4" of="$img" bs=1M seek=$((boot_start / 2048 + BOOT_MB)) conv=notrunc,sparse status=none
  dd if="$parts/data.ext4" of="$img" bs=1M seek=$((boot_start / 2048 + BOOT_MB + root_mb)) conv=notrunc,sparse status=none
  rm -rf "$parts"
  log "$img: $(du -h --apparent-size "$img" | cut -f1) ($(du -h "$img" | cut -f1) on disk)"
  log "flash: sudo dd if=$img of=/dev/sdX bs=4M conv=fsync status=progress"
}

# -- run -------------------------------------------------------------------------------
prepare_host
n=0; total=${#ALL_STAGES[@]}
for stage in "${ALL_STAGES[@]}"; do
  n=$((n + 1))
  if ! wanted "$stage"; then printf '==> [%d/%d] %-8s skipped\n' "$n" "$total" "$stage"; continue; fi
  if [ -e "$WORK/.done-$stage" ] && ! has "$FORCE" "$stage" && ! has "$FORCE" all; then
    printf '==> [%d/%d] %-8s already done (--force %s to redo)\n' "$n" "$total" "$stage" "$stage"
    continue
  fi
  # A stage redone invalidates those after it.
  for later in "${ALL_STAGES[@]:$n}"; do rm -f "$WORK/.done-$later"; done
  [ "$stage" != rootfs ] && [ ! -x "$ROOT/usr/bin/python3" ] && {
    echo "build.sh: stage $stage needs the rootfs stage first" >&2; exit 1; }
  t0=$(date +%s)
  printf '==> [%d/%d] %-8s …\n' "$n" "$total" "$stage"
  "stage_$stage"
  touch "$WORK/.done-$stage"
  printf '==> [%d/%d] %-8s done in %ds\n' "$n" "$total" "$stage" $(( $(date +%s) - t0 ))
done
cleanup
printf '==> finished in %ds\n' $(( $(date +%s) - START ))
