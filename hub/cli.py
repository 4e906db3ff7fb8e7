"""The ``hub`` command: run the core, the kiosk, the demo; status, doctor, version.

Other packages add their own commands (``hub enroll``, ``hub platform-dev``,
``hub export``, ``hub devices``) through :func:`_register_optional_commands`.
"""

import json
import logging
import os
import sys
from pathlib import Path

import click

from hub import __version__
from hub.config import Config, load_config
from hub.errors import ApiError, ConfigError, StoreError

__all__ = ["cli", "main"]


def _setup_logging(verbose: int):
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    if os.environ.get("INVOCATION_ID"):  # under systemd: journald adds the time
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)


def _overrides(state_dir, simulate) -> dict:
    hub = {}
    if state_dir:
        hub["state_dir"] = str(Path(state_dir).resolve())
    if simulate:
        hub["simulate"] = True
    return {"hub": hub} if hub else {}


# Commands owned by sub-packages, imported only when asked for (`hub kiosk` and `hub core`
# start faster without them); a missing optional part must not break the CLI.
_OPTIONAL_MODULES = ("hub.sync.cli", "hub.sensors.cli", "hub.voice.cli")


class _HubGroup(click.Group):
    """The ``hub`` group: its own commands, then the sub-packages' on first need."""

    _loaded = False

    def _load_optional(self):
        if self._loaded:
            return
        self._loaded = True
        for module in _OPTIONAL_MODULES:
            try:
                mod = __import__(module, fromlist=["_"])
            except ImportError as exc:
                logging.getLogger(__name__).debug("%s not available: %s", module, exc)
                continue
            for command in getattr(mod, "commands", ()):
                if isinstance(command, click.Command):
                    self.add_command(command)

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            self._load_optional()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._load_optional()
        return super().list_commands(ctx)

    def all_commands(self) -> dict[str, click.Command]:
        """Every command, the sub-packages' included (for help and documentation checks)."""
        self._load_optional()
        return dict(self.commands)


@click.group(cls=_HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="HUB_CONFIG", help="TOML config file (default /etc/hub/hub.toml).")
@click.option("--state-dir", type=click.Path(file_okay=False), envvar="HUB_STATE_DIR",
              help="Directory for the database and socket (default /var/lib/hub).")
@click.option("--simulate", is_flag=True, help="Mock GPIO and simulated Bluetooth devices.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx, config_path, state_dir, simulate, verbose):
    """Home hub for elders: SOS, health devices, check-ins, care platform sync."""
    _setup_logging(verbose)
    ctx.obj = {"config_path": config_path, "overrides": _overrides(state_dir, simulate)}


def get_config(ctx: click.Context) -> Config:
    """Load and validate the config once per command; a bad key ends with its name."""
    obj = ctx.find_root().obj
    if "config" not in obj:
        try:
            obj["config"] = load_config(obj["config_path"], overrides=obj["overrides"])
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
    return obj["config"]


@cli.command()
@click.pass_context
def core(ctx):
    """Run the core daemon (database, SOS, sensors, sync, local API) until SIGTERM."""
    from hub.core import run_core

    ctx.exit(run_core(get_config(ctx)))


@cli.command()
@click.pass_context
def kiosk(ctx):
    """Run the full-screen touchscreen kiosk (needs a display and the core)."""
    cfg = get_config(ctx)
    try:
        from hub.ui.app import run_kiosk
    except ImportError as exc:
        raise click.ClickException(
            f"the kiosk is not available here ({exc}). Install it: pip install '.[kiosk]'"
        ) from None
    ctx.exit(run_kiosk(cfg))


@cli.command()
@click.option("--no-kiosk", is_flag=True, help="Do not start the kiosk even with a display.")
@click.option("--port", default=8787, show_default=True, help="Port of the local receiver.")
@click.pass_context
def demo(ctx, no_kiosk, port):
    """Run everything in simulation: receiver, core with simulated sensors, kiosk."""
    from hub.demo import run_demo

    root = ctx.find_root().obj
    state_dir = root["overrides"].get("hub", {}).get("state_dir")
    ctx.exit(run_demo(state_dir=state_dir, port=port, kiosk=not no_kiosk))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx, as_json):
    """SOS state, outbox depth, oldest undelivered, last sync, devices, clock."""
    from hub.api import ApiClient
    from hub.status import collect_status, format_status
    from hub.store import Store

    cfg = get_config(ctx)
    result = None
    try:
        with ApiClient(cfg.socket_path, timeout=5) as client:
            result = client.request("status")
    except ApiError:
        if not cfg.db_path.exists():
            raise click.ClickException(
                f"no hub database at {cfg.db_path} and the core is not running. "
                "Start the core (`hub core`) or pass --state-dir.") from None
        try:
            store = Store(cfg.db_path, migrate=False)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            result = collect_status(store, cfg)
        finally:
            store.close()
        result["core"] = None
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(format_status(result))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (for the platform).")
@click.option("--gpio-test", type=click.FloatRange(1, 600), default=None, metavar="SECONDS",
              help="Wiring test: watch the SOS button, motion and door pins for SECONDS.")
@click.pass_context
def doctor(ctx, as_json, gpio_test):
    """Check the hub on site: config and PIN, database, disk and SD card, core, display,
    touch, audio out and in, microphone, Bluetooth and devices, GPIO, platform, clock."""
    from hub.doctor import checks_json, gpio_wiring_test, run_checks

    cfg = get_config(ctx)
    if gpio_test:
        click.echo(f"Watching the pins for {gpio_test:.0f} s: press the SOS button, walk past "
                   "the motion sensor, open and close the door.")
        try:
            counts = gpio_wiring_test(cfg, gpio_test)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        for name, changes in counts.items():
            word = "OK  " if changes else "FAIL"
            click.echo(f"{word} {name:<11} {changes} changes"
                       + ("" if changes else "  → check its wires (docs/wiring.md)"))
        ctx.exit(0 if all(counts.values()) else 1)
    checks = run_checks(cfg)
    if as_json:
        click.echo(checks_json(checks))
    worst = "OK"
    for check in checks:
        if not as_json:
            click.echo(f"{check.level:<5} {check.name:<12} {check.detail}")
            if check.hint and check.level != "OK":
                click.echo(f"{'':<18} → {check.hint}")
        if check.level == "FAIL" or (check.level == "WARN" and worst == "OK"):
            worst = check.level
    ctx.exit(1 if worst == "FAIL" else 0)


@cli.command()
@click.argument("what")
@click.argument("args", nargs=-1)
@click.pass_context
def sim(ctx, what, args):
    """Drive the simulator of a core run with --simulate.

    WHAT is a simulator command (button, motion, door, …); ARGS are key=value pairs with
    JSON values, e.g. `hub sim button action=hold seconds=4`, `hub sim door open=true`.
    """
    from hub.api import ApiClient

    cfg = get_config(ctx)
    params = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise click.BadParameter(f"{arg!r} is not key=value", param_hint="ARGS")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    try:
        with ApiClient(cfg.socket_path, timeout=15) as client:
            result = client.request(f"sim.{what}", **params)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--root", default="/", show_default=True, type=click.Path(file_okay=False),
              help="Provision the root filesystem at DIR (image build); no enrollment then.")
@click.option("--wait-network", type=click.FloatRange(0), default=0.0,
              help="Seconds to keep retrying enrollment while the network comes up.")
@click.option("--first-boot", is_flag=True,
              help="Run by hub-firstboot.service: then switch on the read-only root.")
@click.option("--enroll/--no-enroll", default=None,
              help="Enroll with the platform (default: only when provisioning this hub, "
                   "--root /).")
@click.pass_context
def provision(ctx, file, root, wait_network, first_boot, enroll):
    """Apply a hub-provision.toml (Wi-Fi, platform, PIN, language, time zone, name).

    The config is written (0640) only after the hub's own loader accepts it; the
    file's secrets are removed afterwards. See docs/technicians.md.
    """
    from hub.provision import ProvisionError
    from hub.provision import provision as apply

    config_path = ctx.find_root().obj["config_path"]
    try:
        result = apply(file, config_path=config_path, root=root, wait_network=wait_network,
                       enroll=root == "/" if enroll is None else enroll,
                       first_boot=first_boot)
    except ProvisionError as exc:
        raise click.ClickException(str(exc)) from None
    for level, step, detail in result.steps:
        click.echo(f"{level:<5} {step:<15} {detail}")
    ctx.exit(0 if result.ok else 1)


@cli.command()
def version():
    """Print the hub's version."""
    click.echo(f"hub {__version__}")


def main():
    """Entry point of the ``hub`` console script."""
    cli(prog_name="hub")
