"""Enrollment: trade a one-time code for this hub's id and device token, and keep them safe.

This module owns the token file: its format, writing it atomically with mode 0600
(readable only by the hub user), and reading it back. It also tells the hub's
serial number. It never logs the token, never puts it in an exception or a
``repr``; ``hub status --json`` must use :meth:`Credentials.public`.

The token file is JSON::

    {"hub_id": "...", "token": "...", "url": "https://platform.example",
     "enrolled_at": "2026-11-25T08:00:00.000Z"}

A file holding only the token text (written by a provisioning tool) is read too.
The ``url`` is where the token is valid; it is used when ``[sync] url`` is empty,
so ``hub enroll --url URL --code CODE`` alone is enough to connect a hub.
"""

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hub.clock import to_rfc3339, utc_now
from hub.config import Config
from hub.sync.client import EnrollmentError, PlatformClient, TransientError, check_url

__all__ = ["Credentials", "enroll", "hub_serial", "read_credentials", "write_credentials"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What enrollment gave this hub. The token never shows in ``repr``."""

    token: str
    hub_id: str | None = None
    url: str | None = None
    enrolled_at: str | None = None
    patient_ref: str | None = None

    def __repr__(self):
        return f"Credentials(hub_id={self.hub_id!r}, url={self.url!r}, token=<hidden>)"

    def public(self) -> dict:
        """What may be shown or logged: everything but the token."""
        return {"hub_id": self.hub_id, "url": self.url, "enrolled_at": self.enrolled_at,
                "patient_ref": self.patient_ref}


def hub_serial() -> str:
    """Return this hub's serial: the Raspberry Pi's CPU serial, else the machine id.

    :returns: a stable string; ``"unknown"`` only if nothing can be read.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("serial"):
                serial = line.split(":", 1)[1].strip()
                if serial.strip("0"):
                    return serial
    except OSError:
        pass
    for path in ("/sys/firmware/devicetree/base/serial-number", "/etc/machine-id"):
        try:
            text = Path(path).read_text().strip("\x00 \n")
        except OSError:
            continue
        if text:
            return text
    return "unknown"


def read_credentials(path: str | os.PathLike) -> Credentials | None:
    """Read the token file.

    :returns: the credentials, or None if the file is missing, empty or unreadable
        (the reason is logged, never the content).
    """
    path = Path(path)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read the token file %s: %s", path, exc.strerror or exc)
        return None
    if not text:
        return None
    if not text.startswith("{"):
        return Credentials(token=text)
    try:
        data = json.loads(text)
    except ValueError:
        log.warning("the token file %s is not valid JSON; enrol the hub again", path)
        return None
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        log.warning("the token file %s holds no token; enrol the hub again", path)
        return None
    return Credentials(token=token, hub_id=data.get("hub_id"), url=data.get("url"),
                       enrolled_at=data.get("enrolled_at"), patient_ref=data.get("patient_ref"))


def write_credentials(path: str | os.PathLike, creds: Credentials):
    """Write the token file atomically with mode 0600.

    A temporary file is created with 0600 from the start (never a moment with wider
    permissions), synced, then renamed over the old one, so a power cut leaves the
    old file or the new one, never half of one. When run as root for a state
    directory owned by the hub user, the file is given to that user.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"hub_id": creds.hub_id, "token": creds.token, "url": creds.url,
                       "enrolled_at": creds.enrolled_at, "patient_ref": creds.patient_ref},
                      indent=1).encode() + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        owner = os.stat(path.parent)
        if os.geteuid() == 0 and owner.st_uid != 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def enroll(config: Config, url: str, code: str, *, serial: str | None = None) -> str:
    """Enrol this hub with the platform at ``url`` and store its token.

    :param config: the hub configuration (token path, CA bundle, timeout).
    :param url: the platform's base address (``https://…``).
    :param code: the one-time enrollment code from the service centre.
    :param serial: the hub's serial; default :func:`hub_serial`.
    :returns: the hub id the platform gave.
    :raises EnrollmentError: bad URL, refused code, unreachable platform, or the token
        file cannot be written — each with what to do.
    """
    try:
        url = check_url(url)
    except ValueError as exc:
        raise EnrollmentError(str(exc)) from None
    code = (code or "").strip()
    if not code:
        raise EnrollmentError("an enrollment code is needed: ask the service centre for one")
    client = PlatformClient(url, ca_bundle=config.sync.ca_bundle, timeout=config.sync.timeout)
    try:
        answer = client.enroll(serial or hub_serial(), code)
    except TransientError as exc:
        raise EnrollmentError(f"enrollment failed: {exc}") from None
    finally:
        client.close()
    creds = Credentials(token=answer["token"], hub_id=answer["hub_id"], url=url,
                        enrolled_at=to_rfc3339(utc_now()),
                        patient_ref=answer.get("patient_ref"))
    try:
        write_credentials(config.token_path, creds)
    except OSError as exc:
        raise EnrollmentError(
            f"enrolled as hub {creds.hub_id}, but the token file {config.token_path} cannot "
            f"be written ({exc.strerror or exc}). Run as the hub user, or check the state "
            "directory's permissions, then enrol again with a new code.") from None
    if config.sync.url and config.sync.url.rstrip("/") != url:
        log.warning("enrolled at %s but [sync] url is %s: the hub will use %s",
                    url, config.sync.url, config.sync.url)
    log.info("enrolled as hub %s at %s; token saved in %s", creds.hub_id,
             client.host, config.token_path)
    return creds.hub_id
