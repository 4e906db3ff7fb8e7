"""``hub devices``: find, pair, list and forget Bluetooth health devices.

Talks to the running core over the local API (the core owns the adapter, the pairing
agent and the database). Without a running core, ``scan`` scans by itself and ``list``
reads the database; ``pair`` and ``forget`` need the core. Every failure ends in a
sentence for a person, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import time

import click

from hub.api import ApiClient
from hub.errors import ApiError, StoreError

__all__ = ["devices", "commands"]


def _config(ctx):
    from hub.cli import get_config

    return get_config(ctx)


def _client(cfg, timeout: float) -> ApiClient | None:
    """A connected client, or None when the core is not running."""
    try:
        return ApiClient(cfg.socket_path, timeout=timeout).connect()
    except ApiError as exc:
        if "not running" in str(exc):
            return None
        raise click.ClickException(str(exc)) from None


def _need_core(cfg, timeout: float) -> ApiClient:
    client = _client(cfg, timeout)
    if client is None:
        raise click.ClickException(
            "the hub core is not running, and pairing goes through it (it holds the "
            "Bluetooth pairing agent and the database). Start it with `hub core` or "
            "`systemctl start hub-core`.")
    return client


def _request(client: ApiClient, cmd: str, **args):
    try:
        return client.request(cmd, **args)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None


def _print_nearby(found: list[dict]):
    if not found:
        click.echo("No health devices found nearby. Wake the device up (take a measurement, "
                   "or hold its Bluetooth button) and scan again.")
        return
    for d in found:
        rssi = f"{d['rssi']:>4} dBm" if d.get("rssi") is not None else "       "
        mark = "  (paired)" if d.get("paired") else ""
        click.echo(f"{d['address']}  {rssi}  {d['name']}{mark}")


@click.group()
def devices():
    """Bluetooth health devices: scan, pair, list, forget."""


@devices.command()
@click.option("--seconds", default=5.0, show_default=True, type=click.FloatRange(0, 30),
              help="How long to listen.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def scan(ctx, seconds, as_json):
    """List nearby health devices by kind and name, strongest signal first."""
    cfg = _config(ctx)
    client = _client(cfg, timeout=seconds + 15)
    if client is not None:
        with client:
            found = _request(client, "devices.scan", seconds=seconds)["devices"]
    else:
        found = _scan_here(cfg, seconds)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        _print_nearby(found)


def _scan_here(cfg, seconds: float) -> list[dict]:
    """Scan without the core (a technician's bench test)."""
    from hub.sensors.ble.backend import BleError, NoAdapterError
    from hub.sensors.ble.devices import describe

    async def run():
        if cfg.hub.simulate:
            from hub.sensors.ble.simulated import SimulatedBackend
            backend = SimulatedBackend(advertise_every=0.5)
        else:
            from hub.sensors.ble.bleak_backend import BleakBackend
            backend = BleakBackend()
        seen: dict[str, dict] = {}

        def heard(adv):
            info = describe(adv)
            if info:
                seen[adv.address] = {"address": adv.address, "kind": info[0], "name": info[1],
                                     "rssi": adv.rssi, "paired": False}

        try:
            await backend.start_scan(heard)
            await asyncio.sleep(max(seconds, 0.6 if cfg.hub.simulate else 0))
        finally:
            await backend.close()
        return sorted(seen.values(), key=lambda d: -(d["rssi"] or -999))

    try:
        found = asyncio.run(run())
    except NoAdapterError as exc:
        raise click.ClickException(str(exc)) from None
    except BleError as exc:
        raise click.ClickException(f"Bluetooth scan failed: {exc}") from None
    paired = {d["address"] for d in _devices_from_db(cfg)}
    for d in found:
        d["paired"] = d["address"] in paired
    return found


def _devices_from_db(cfg) -> list[dict]:
    from hub.sensors.ble.devices import list_devices
    from hub.store import Store

    if not cfg.db_path.exists():
        return []
    try:
        store = Store(cfg.db_path, migrate=False)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        return list_devices(store)
    finally:
        store.close()


@devices.command()
@click.argument("address")
@click.option("--passkey", help="The PIN the device shows, if it shows one.")
@click.option("--timeout", default=180.0, show_default=True,
              help="Seconds to wait for pairing to finish.")
@click.pass_context
def pair(ctx, address, passkey, timeout):
    """Pair the device at ADDRESS (from `hub devices scan`) with this home."""
    cfg = _config(ctx)
    with _need_core(cfg, timeout=15) as client:
        args = {"address": address, "wait": False}
        if passkey:
            args["passkey"] = passkey
        started = _request(client, "devices.pair", **args)
        address = started["address"]
        end = time.monotonic() + timeout
        asked = False
        while time.monotonic() < end:
            state = (_request(client, "devices.list")["pairing"].get(address) or {})
            if state.get("state") == "paired":
                click.echo(f"Paired: {state.get('name', address)}")
                return
            if state.get("state") == "failed":
                raise click.ClickException(state.get("error", "pairing failed"))
            if state.get("state") == "waiting_for_passkey" and not asked:
                asked = True
                pin = click.prompt("Type the number shown on the device", type=str)
                _request(client, "devices.passkey", address=address, passkey=pin)
            time.sleep(0.3)
        raise click.ClickException(f"pairing {address} did not finish within {timeout:.0f} s")


@devices.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx, as_json):
    """Devices paired with this home, and when each was last heard."""
    cfg = _config(ctx)
    client = _client(cfg, timeout=10)
    if client is not None:
        with client:
            result = _request(client, "devices.list")
    else:
        result = {"devices": _devices_from_db(cfg)}
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = result["devices"]
    if not rows:
        click.echo("No devices are paired yet. Find one with `hub devices scan`.")
    for d in rows:
        bond = "bonded" if d.get("bonded") else "broadcast"
        click.echo(f"{d['address']}  {d['name']}  ({d['kind']}, {bond}; "
                   f"last heard {d.get('last_seen') or 'never'})")
    rejected = sum((result.get("rejected") or {}).values())
    if rejected:
        click.echo(f"{rejected} malformed payload(s) rejected since the core started.")


@devices.command()
@click.argument("address")
@click.pass_context
def forget(ctx, address):
    """Unpair the device at ADDRESS and delete its Bluetooth bond."""
    cfg = _config(ctx)
    with _need_core(cfg, timeout=30) as client:
        result = _request(client, "devices.forget", address=address)
    click.echo(f"Forgotten: {result['address']}")
    if result.get("note"):
        click.echo(f"Note: {result['note']}")


#: What ``hub.cli`` registers from this module.
commands = [devices]
