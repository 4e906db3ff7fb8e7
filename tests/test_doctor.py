"""`hub doctor`: every check reports OK / WARN / FAIL with a hint, and a damaged DB fails."""

from click.testing import CliRunner

from hub.cli import cli
from hub.store import Store


def run_doctor(tmp_path, *extra):
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\nsimulate = true\n')
    return CliRunner().invoke(cli, ["--config", str(cfg), *extra, "doctor"])


def test_doctor_on_a_fresh_machine_warns_with_hints(tmp_path):
    result = run_doctor(tmp_path)
    lines = result.output.splitlines()
    names = {line.split()[1] for line in lines if line[:4] in ("OK  ", "WARN", "FAIL")}
    assert {"config", "database", "disk", "core", "audio", "bluetooth", "gpio"} <= names
    assert "does not exist yet" in result.output
    assert "→ Start it" in result.output  # the socket check says what to do


def test_doctor_checks_database_integrity(tmp_path):
    state = tmp_path / "state"
    Store(state / "hub.db").close()
    result = run_doctor(tmp_path)
    assert "OK    database" in result.output and "integrity ok" in result.output
    (state / "hub.db").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (state / f"hub.db{suffix}").unlink(missing_ok=True)
    result = run_doctor(tmp_path)
    assert "FAIL  database" in result.output
    assert result.exit_code == 1


def test_doctor_sees_a_running_core(core):
    result = CliRunner().invoke(cli, ["--config", str(core.config_path), "doctor"])
    assert "OK    core socket" in result.output
