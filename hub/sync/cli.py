"""The sync commands of the ``hub`` CLI: ``enroll``, ``platform-dev`` and ``export``.

This module owns the command-line faces of enrollment, the reference receiver and
the FHIR export. The main ``hub`` group (``hub/cli.py``) registers them::

    from hub.sync.cli import commands
    for command in commands:
        cli.add_command(command)

Each command also works alone (``CliRunner().invoke(enroll, [...])``). The
configuration comes from ``--config FILE``, else a :class:`~hub.config.Config` the
main group put in ``ctx.obj`` (or ``ctx.obj["config"]``), else ``load_config()``.
"""

import json
import logging
import os
import sys
from pathlib import Path

import click

from hub.clock import parse_rfc3339, to_rfc3339
from hub.config import Config, load_config
from hub.errors import ConfigError, HubError

__all__ = ["commands", "enroll_command", "platform_dev", "export_command"]

log = logging.getLogger(__name__)

DEFAULT_DEV_PORT = 8765


def _config(ctx: click.Context, path: str | None) -> Config:
    """The configuration: ``--config`` here, else what the main ``hub`` group was given.

    The main group keeps ``{"config_path", "overrides"}`` (and, once loaded,
    ``"config"``) in ``ctx.obj``; a :class:`Config` there is used as it is.
    """
    obj = ctx.find_root().obj
    try:
        if path:
            overrides = obj.get("overrides") if isinstance(obj, dict) else None
            return load_config(path, overrides=overrides)
        if isinstance(obj, Config):
            return obj
        if isinstance(obj, dict):
            if isinstance(obj.get("config"), Config):
                return obj["config"]
            obj["config"] = load_config(obj.get("config_path"), overrides=obj.get("overrides"))
            return obj["config"]
        return load_config()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


_config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False),
    help="Configuration file (default: the one given to `hub --config`, else "
         "/etc/hub/hub.toml).")


# -- hub enroll ------------------------------------------------------------------------

@click.command("enroll")
@click.option("--url", required=True, help="The care platform's address, https://…")
@click.option("--code", required=True, help="One-time enrollment code from the service centre.")
@click.option("--serial", default=None, help="Hub serial to present (default: the Pi's serial).")
@_config_option
@click.pass_context
def enroll_command(ctx, url, code, serial, config_path):
    """Connect this hub to the care platform with a one-time enrollment code.

    Stores the hub's device token in the token file ([sync] token_file, default
    <state_dir>/token), readable only by this user. The token is never printed.
    """
    from hub.sync.client import EnrollmentError
    from hub.sync.enroll import enroll

    cfg = _config(ctx, config_path)
    try:
        hub_id = enroll(cfg, url, code, serial=serial)
    except EnrollmentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Enrolled as hub {hub_id}. Token saved in {cfg.token_path} "
               "(readable only by this user).")


# -- hub platform-dev ------------------------------------------------------------------

@click.group("platform-dev", invoke_without_command=True)
@click.option("--port", type=int, default=DEFAULT_DEV_PORT, show_default=True,
              help="Port on 127.0.0.1 (also the receiver the sub-commands talk to).")
@click.option("--db", "db_path", default="platform-dev.db", show_default=True,
              type=click.Path(dir_okay=False), help="The receiver's own SQLite file.")
@click.option("--code", "codes", multiple=True,
              help="Create this enrollment code at start (repeatable).")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Fraction of requests answered 503.")
@click.option("--latency", type=click.FloatRange(0), default=0.0,
              help="Seconds added to every answer.")
@click.option("--rate-limit", type=click.FloatRange(0, 1), default=0.0,
              help="Fraction of requests answered 429 with Retry-After.")
@click.option("--retry-after", type=click.IntRange(0), default=1, show_default=True,
              help="Seconds given in Retry-After.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Fraction of requests processed, then cut off mid-answer.")
@click.option("--offline", is_flag=True, help="Start offline: close every connection unanswered.")
@click.option("--seed", type=int, default=None, help="Seed the fault dice (repeatable runs).")
@click.pass_context
def platform_dev(ctx, port, db_path, codes, error_rate, latency, rate_limit, retry_after,
                 drop_rate, offline, seed):
    """Run the reference care platform on 127.0.0.1, or act on a running one.

    Without a sub-command it serves (Ctrl-C stops it): enrollment codes, event
    batches, an inbox per hub, FHIR transactions at /fhir, and a page at / listing
    alarms with an Acknowledge form. Fault switches make it fail on purpose for
    bench tests. The sub-commands talk to a running receiver over HTTP.
    """
    ctx.meta["platform_dev.port"] = port
    if ctx.invoked_subcommand is not None:
        return
    from hub.sync.receiver import Faults, Receiver

    faults = Faults(error_rate=error_rate, latency=latency, rate_limit=rate_limit,
                    retry_after=retry_after, drop_rate=drop_rate, offline=offline)
    rx = Receiver(db_path, port=port, faults=faults, seed=seed)
    try:
        port = rx.bind()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
                                   ". Is another receiver running? Try --port.") from None
    for code in codes:
        rx.create_code(code)
    click.echo(f"Reference care platform on http://127.0.0.1:{port} (database {db_path}).")
    click.echo(f"  hub protocol: [sync] url = \"http://127.0.0.1:{port}\"; FHIR: "
               f"http://127.0.0.1:{port}/fhir")
    for code in codes:
        click.echo(f"  enrollment code: {code}  (hub enroll --url http://127.0.0.1:{port} "
                   f"--code {code})")
    if any((error_rate, latency, rate_limit, drop_rate, offline)):
        click.echo(f"  faults: error {error_rate:g}, latency {latency:g} s, 429 {rate_limit:g}"
                   f" (Retry-After {retry_after}), drop {drop_rate:g}"
                   + (", OFFLINE" if offline else ""))
    click.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        rx.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")


def _dev_url(ctx, url):
    base = (url or f"http://127.0.0.1:{ctx.meta.get('platform_dev.port', DEFAULT_DEV_PORT)}")
    base = base.rstrip("/")
    if not base.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise click.BadParameter("the reference receiver runs on this machine: "
                                 "http://127.0.0.1:PORT", param_hint="--url")
    return base


def _dev_call(ctx, url, method, path, body=None, params=None):
    import requests  # here, not at the top: `hub kiosk` imports this module too (issue 12)

    base = _dev_url(ctx, url)
    session = requests.Session()
    session.trust_env = False
    try:
        r = session.request(method, base + path, json=body, params=params, timeout=10)
    except requests.RequestException:
        raise click.ClickException(f"no reference receiver answers at {base}: start one with "
                                   "`hub platform-dev --port PORT`") from None
    finally:
        session.close()
    try:
        answer = r.json()
    except ValueError:
        answer = {"error": r.text[:200]}
    if r.status_code >= 400:
        raise click.ClickException(answer.get("error") or f"HTTP {r.status_code}")
    return answer


_url_option = click.option("--url", default=None,
                           help="The running receiver (default http://127.0.0.1:PORT).")


@platform_dev.command("events")
@click.option("--type", "event_type", default=None, help="Only this type (e.g. sos_raised).")
@click.option("--hub", "hub_id", default=None, help="Only this hub.")
@click.option("--limit", type=int, default=50, show_default=True, help="Newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, one event per line.")
@_url_option
@click.pass_context
def dev_events(ctx, event_type, hub_id, limit, as_json, url):
    """List the events that arrived, oldest of the newest N first."""
    events = []
    after = 0
    while True:  # page through: the receiver answers 1000 at a time
        page = _dev_call(ctx, url, "GET", "/dev/events",
                         params={"type": event_type, "hub_id": hub_id, "after": after,
                                 "limit": 1000})["events"]
        events.extend(page)
        events = events[-limit:]
        if len(page) < 1000:
            break
        after = page[-1]["seq"]
    for e in events:
        if as_json:
            click.echo(json.dumps(e["body"], ensure_ascii=False))
        else:
            what = e["body"].get("kind") if e["type"] == "reading" else (e.get("sos_id") or "")
            click.echo(f"{e['received_at']}  {e['hub_id'][:8]}  {e['type']:<18} {e['id']}  "
                       f"{what or ''}")
    if not as_json:
        stats = _dev_call(ctx, url, "GET", "/dev/stats")
        click.echo(f"{stats['events']} events stored; counters: "
                   + ", ".join(f"{k} {v}" for k, v in stats["counters"].items() if v))


@platform_dev.command("alarms")
@_url_option
@click.pass_context
def dev_alarms(ctx, url):
    """List open SOS alarms and who acknowledged them."""
    alarms = _dev_call(ctx, url, "GET", "/dev/sos")["open"]
    if not alarms:
        click.echo("no open alarms")
    for a in alarms:
        who = f"acknowledged by {a['responder']}" if a["responder"] else "NOT acknowledged"
        click.echo(f"{a['received_at']}  hub {a['hub_id'][:8]}  SOS {a['sos_id']}  {who}")


@platform_dev.command("ack")
@click.argument("sos_id")
@click.option("--responder", required=True, help='Who is coming, e.g. "Li Wei, service centre".')
@click.option("--eta", default=None, help='When they arrive, e.g. "15 minutes".')
@_url_option
@click.pass_context
def dev_ack(ctx, sos_id, responder, eta, url):
    """Acknowledge an SOS as a named responder (the hub shows and says who is coming)."""
    answer = _dev_call(ctx, url, "POST", f"/dev/sos/{sos_id}/ack",
                       body={"responder": responder, "eta": eta})
    click.echo(f"SOS {sos_id} acknowledged by {responder}; message {answer['message_id']} "
               f"queued for hub {answer['hub_id']}")


@platform_dev.command("resolve")
@click.argument("sos_id")
@click.option("--by", default="", help="Who closed the alarm.")
@_url_option
@click.pass_context
def dev_resolve(ctx, sos_id, by, url):
    """Close an SOS from the platform side."""
    answer = _dev_call(ctx, url, "POST", f"/dev/sos/{sos_id}/resolve", body={"by": by})
    click.echo(f"SOS {sos_id} resolved; message {answer['message_id']} queued")


@platform_dev.command("message")
@click.option("--kind", type=click.Choice(["reminder", "message", "service_update", "config"]),
              default="message", show_default=True, help="Kind of inbox message.")
@click.option("--text", default=None, help="Text for the elder (sets data.text).")
@click.option("--data", "data_json", default=None, help="The message's data as JSON.")
@click.option("--hub", "hub_id", default=None, help="Hub id (default: the only enrolled hub).")
@_url_option
@click.pass_context
def dev_message(ctx, kind, text, data_json, hub_id, url):
    """Put a reminder, family message, service update or config change in a hub's inbox."""
    try:
        data = json.loads(data_json) if data_json else {}
    except ValueError:
        raise click.BadParameter("not valid JSON", param_hint="--data") from None
    if text:
        data["text"] = text
    answer = _dev_call(ctx, url, "POST", "/dev/messages",
                       body={"kind": kind, "data": data, "hub_id": hub_id})
    click.echo(f"{kind} {answer['message_id']} queued for hub {answer['hub_id']}")


@platform_dev.command("code")
@click.argument("code", required=False)
@_url_option
@click.pass_context
def dev_code(ctx, code, url):
    """Create a one-time enrollment code (random 8 digits unless given)."""
    answer = _dev_call(ctx, url, "POST", "/dev/codes", body={"code": code})
    click.echo(answer["code"])


@platform_dev.command("faults")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=None, help="503 fraction.")
@click.option("--latency", type=click.FloatRange(0), default=None, help="Added seconds.")
@click.option("--rate-limit", type=click.FloatRange(0, 1), default=None, help="429 fraction.")
@click.option("--retry-after", type=click.IntRange(0), default=None, help="Retry-After seconds.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=None,
              help="Fraction cut off mid-answer.")
@click.option("--offline/--online", default=None, help="Refuse every connection, or not.")
@click.option("--reset/--no-reset", default=None, help="Reset every connection (TCP RST).")
@click.option("--black-hole/--no-black-hole", default=None,
              help="Read every request and never answer (such connections stay dead).")
@click.option("--refuse-sos", type=click.Choice(["", "400", "422", "rejected"]), default=None,
              help="Break the contract: refuse SOS events (\"\" = never, as it should).")
@click.option("--refuse-minimal/--take-minimal", default=None,
              help="With --refuse-sos, refuse an SOS's minimal form too.")
@_url_option
@click.pass_context
def dev_faults(ctx, url, **switches):
    """Show the fault switches, or change those given."""
    changes = {k: v for k, v in switches.items() if v is not None}
    answer = _dev_call(ctx, url, "POST" if changes else "GET", "/dev/faults",
                       body=changes if changes else None)
    click.echo(", ".join(f"{k} {v}" for k, v in answer.items()))


@platform_dev.command("revoke")
@click.argument("hub_id")
@_url_option
@click.pass_context
def dev_revoke(ctx, hub_id, url):
    """Revoke a hub's token: it gets 401 and says so until enrolled again."""
    _dev_call(ctx, url, "POST", f"/dev/hubs/{hub_id}/revoke")
    click.echo(f"hub {hub_id} revoked")


@platform_dev.command("hubs")
@_url_option
@click.pass_context
def dev_hubs(ctx, url):
    """List enrolled hubs."""
    for h in _dev_call(ctx, url, "GET", "/dev/hubs")["hubs"]:
        state = "REVOKED" if h["revoked"] else "active"
        click.echo(f"{h['hub_id']}  serial {h['serial']}  enrolled {h['enrolled_at']}  "
                   f"last seen {h['last_seen'] or '-'}  {state}")


# -- hub export --fhir -----------------------------------------------------------------

def _since(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = parse_rfc3339(value if "T" in value else value + "T00:00:00Z")
    except ValueError:
        raise click.BadParameter("use a date (2026-11-01) or an RFC 3339 time "
                                 "(2026-11-01T08:00:00Z)", param_hint="--since") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time zone, e.g. 2026-11-01T08:00:00Z",
                                 param_hint="--since")
    return to_rfc3339(moment)


@click.command("export")
@click.option("--fhir", "fhir_file", default=None, type=click.Path(dir_okay=False),
              help="Write a FHIR R4 Bundle (JSON) of the health readings here; - for stdout.")
@click.option("--json", "json_file", default=None, type=click.Path(dir_okay=False),
              help="Write all of the elder's data (readings, check-ins, alarms, messages, "
                   "reminders, service requests, consent, settings; no secrets) as JSON here; "
                   "- for stdout.")
@click.option("--since", default=None, help="Only readings measured at or after this date/time.")
@click.option("--patient", default=None,
              help="The elder's FHIR id or reference, Patient/<id> with id [A-Za-z0-9-.]{1,64} "
                   "(default: from enrollment, else Patient/<hub id>).")
@_config_option
@click.pass_context
def export_command(ctx, fhir_file, json_file, since, patient, config_path):
    """Export the elder's data: health readings as FHIR R4, and/or everything as JSON.

    FHIR: a Bundle of vital-signs Observations with LOINC codes and UCUM units; each
    observation's identifier carries the reading's UUID. Readings that cannot be
    expressed in FHIR are listed and left out. JSON: everything the hub keeps about
    the elder, for the family to take away (never the device token or the PIN).
    """
    if not fhir_file and not json_file:
        raise click.UsageError("say where to write: --fhir FILE and/or --json FILE")
    if fhir_file == "-" and json_file == "-":
        raise click.UsageError("only one of --fhir and --json can go to stdout")
    from hub.store import Store
    from hub.sync.enroll import hub_serial, read_credentials
    from hub.sync.fhir import patient_reference, write_bundle

    cfg = _config(ctx, config_path)
    since = _since(since)
    if patient is not None:  # checked before anything is read or written
        try:
            patient = patient_reference(patient)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--patient") from None
    if not cfg.db_path.exists():
        raise click.ClickException(f"no hub database at {cfg.db_path}: check [hub] state_dir")
    try:
        store = Store(cfg.db_path, reserve_bytes=cfg.store.reserve_mb * 1024 * 1024)
    except HubError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        creds = read_credentials(cfg.token_path)
        hub_id = (creds.hub_id if creds else None) or hub_serial()
        patient = (patient or cfg.sync.patient_ref or (creds.patient_ref if creds else None)
                   or store.get_setting("sync.patient_ref") or f"Patient/{hub_id}")
        readings = store.readings(since=since)
        if json_file:
            from hub.care.export import export_document

            document = export_document(store, hub_id=hub_id, since=since)
    finally:
        store.close()
    if json_file:
        _write_json(json_file, document)
        if not fhir_file:
            return
    skipped = []
    if fhir_file == "-":
        count = write_bundle(sys.stdout, readings, patient_ref=patient, hub_id=hub_id,
                             on_error=skipped.append)
        sys.stdout.write("\n")
    else:
        count = _write_file(fhir_file, lambda fh: write_bundle(
            fh, readings, patient_ref=patient, hub_id=hub_id, on_error=skipped.append))
    for exc in skipped:
        click.echo(f"left out: {exc}", err=True)
    where = "stdout" if fhir_file == "-" else fhir_file
    click.echo(f"{count} observations from {len(readings) - len(skipped)} readings written to "
               f"{where}" + (f"; {len(skipped)} readings left out" if skipped else ""),
               err=fhir_file == "-")


def _write_file(path: str, write):
    """Write a health-data file whole or not at all, readable by its owner only.

    :param write: ``write(fh)`` fills the file; its result is returned.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            result = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None
    return result


def _write_json(json_file: str, document: dict):
    text = json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n"
    if json_file == "-":
        sys.stdout.write(text)
        return
    _write_file(json_file, lambda fh: fh.write(text))
    click.echo(f"{len(document['readings'])} readings, {len(document['events'])} events and "
               f"{len(document['messages'])} messages written to {json_file}", err=True)


#: The commands to register in the main ``hub`` group.
commands = [enroll_command, platform_dev, export_command]
