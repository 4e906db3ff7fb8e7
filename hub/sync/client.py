"""HTTP to the care platform: one ``requests.Session``, verified TLS, and errors sorted by what to do.

This module owns the requests the hub makes (enrol, send a batch, read the inbox,
post a FHIR transaction) and turns every way they can fail into one of three
exceptions the delivery loop acts on:

* :class:`TransientError` — try again later (no connection, timeout, 5xx, 409, 429,
  an answer cut short); carries ``Retry-After`` when the platform gave one.
* :class:`AuthError` — 401/403: the token is missing, wrong or revoked; stop.
* :class:`RejectedError` — 400/413/422 for the *whole* request: the content is
  refused, so resending it unchanged is pointless (the loop splits the batch).

It does not decide when to send, read the outbox, or retry by itself: urllib3's
``Retry`` does not retry POST by default and the outbox owns its own loop.

TLS verification is always on; ``ca_bundle`` may name an extra CA file (a
platform with a private CA) but nothing can switch verification off. The
session ignores proxy and ``.netrc`` settings from the environment, so the hub
behaves the same under systemd as in a technician's shell, and the token can
never be replaced by netrc credentials. The token is sent only as a bearer
header and never appears in a log line, an exception or a ``repr``.
"""

import datetime as dt
import email.utils
import gzip
import http.cookiejar
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.auth

from hub import __version__
from hub.clock import to_rfc3339, utc_now
from hub.errors import HubError
from hub.sync import protocol

__all__ = [
    "SyncError",
    "TransientError",
    "AuthError",
    "RejectedError",
    "EnrollmentError",
    "Result",
    "PlatformClient",
    "parse_retry_after",
    "check_url",
]

log = logging.getLogger(__name__)

USER_AGENT = f"elder-home-hub/{__version__}"
#: Seconds an SOS request waits for a connection. One SYN and no retransmission: a
#: link that cannot connect in a second is tried again at once (a new attempt costs
#: nothing), instead of waiting out the kernel's retransmissions.
URGENT_CONNECT_TIMEOUT = 1.0


class SyncError(HubError):
    """Base class of the platform client's errors."""


class TransientError(SyncError):
    """The request failed for a reason worth retrying later.

    :param message: words a technician understands.
    :param kind: ``"offline"`` (no connection or it broke), ``"timeout"``, ``"tls"``
        (certificate not verified), ``"server"`` (5xx/409/429 or an unreadable
        answer) or ``"http"`` (an unexpected status such as 404: wrong URL).
    :param status: the HTTP status, when there was an answer.
    :param retry_after: seconds the platform asked us to wait (``Retry-After``).
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class AuthError(SyncError):
    """401/403: the platform does not accept this hub's token."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class RejectedError(SyncError):
    """The platform refused the whole request as invalid (400, 413, 422).

    :param max_events: on a 413, the most events per request the platform takes, when
        it said so (``max_events`` in the answer; docs/platform-api.yaml).
    :param max_bytes: on a 413, the most bytes of (uncompressed) JSON per request.
    """

    def __init__(self, message: str, *, status: int, reason: str,
                 max_events: int | None = None, max_bytes: int | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.max_events = max_events
        self.max_bytes = max_bytes


class EnrollmentError(SyncError):
    """Enrollment failed; the message says why and what to do."""


@dataclass(frozen=True)
class Result:
    """The platform's verdict on one event: accepted, duplicate, rejected or retry."""

    id: str
    status: str
    reason: str | None = None


class _Bearer(requests.auth.AuthBase):
    """Bearer token auth whose repr never shows the token."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self):
        return "<bearer token>"


def check_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise if it is not allowed.

    The same rule as the config: https, or plain http only to this machine.

    :raises ValueError: with words saying what is allowed.
    """
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return url
    raise ValueError(
        f"platform URL {url!r} must start with https:// "
        "(plain http is allowed only to a receiver on this machine)"
    )


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    :returns: seconds to wait (≥ 0), or None if absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _phrase(response) -> str:
    """The status line's reason phrase, cut short (a broken server can put anything there)."""
    return " ".join((response.reason or "").split())[:60]


def _limits_of(response) -> tuple[int | None, int | None]:
    """``max_events`` and ``max_bytes`` from a 413 answer (positive whole numbers only)."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None

    def whole(key):
        value = body.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) \
            and value > 0 else None

    return whole("max_events"), whole("max_bytes")


def _reason_of(response) -> str:
    """The platform's reason for an error answer, short enough for a status line.

    Only a JSON answer's own reason is quoted; an HTML error page or other text is
    not (it could echo the request, and the request holds health values).
    """
    try:
        body = response.json()
    except ValueError:
        return _phrase(response)
    if isinstance(body, dict):
        for key in ("reason", "error", "message", "detail"):
            if isinstance(body.get(key), str):
                return body[key][:200]
        # FHIR OperationOutcome
        issues = body.get("issue")
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            issue = issues[0]
            return str(issue.get("diagnostics") or issue.get("details", {}).get("text")
                       or issue.get("code"))[:200]
    return str(body)[:200]


class PlatformClient:
    """Talks to one platform over one connection-reusing session.

    Safe to share between the worker's threads: it keeps no per-request state, the
    cookie jar is disabled, and urllib3's connection pool is thread-safe.

    :param url: the platform base URL (``https://…``), without ``/v1``; for FHIR the
        FHIR base URL.
    :param token: the device token, or None before enrollment.
    :param ca_bundle: an extra CA bundle file; empty uses the system store.
    :param timeout: seconds to wait for an answer.
    :param connect_timeout: seconds to wait for the connection; default
        ``min(timeout, 5)``.
    :param hub_id: this hub's id from enrollment, sent with every batch so that a
        platform can still route an SOS when the token is refused.
    """

    def __init__(self, url: str, token: str | None = None, *, ca_bundle: str = "",
                 timeout: float = 10.0, connect_timeout: float | None = None,
                 hub_id: str | None = None):
        self.url = check_url(url)
        self.host = urlsplit(self.url).netloc
        self.timeout = timeout
        self.connect_timeout = connect_timeout or min(timeout, 5.0)
        self.hub_id = hub_id
        self._ca_bundle = ca_bundle
        self._token = token
        s = requests.Session()
        s.trust_env = False
        s.verify = ca_bundle or True
        s.headers["User-Agent"] = USER_AGENT
        s.headers["Accept"] = "application/json"
        s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # max_retries=0: never resend a POST behind the outbox's back.
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=4,
                                                max_retries=0)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        self.session = s

    def __repr__(self):
        return f"<PlatformClient {self.url}>"

    @property
    def has_token(self) -> bool:
        """True when a device token is loaded."""
        return bool(self._token)

    def set_token(self, token: str | None):
        """Use a new device token (after re-enrollment)."""
        self._token = token

    def close(self):
        """Close pooled connections."""
        self.session.close()

    def fresh(self) -> "PlatformClient":
        """A new client like this one with its own connection pool.

        The SOS lane uses one for a second attempt while the first hangs on a
        connection that may be dead (a black hole never answers, and a pooled
        connection from before an outage may be one).
        """
        return PlatformClient(self.url, self._token, ca_bundle=self._ca_bundle,
                              timeout=self.timeout, connect_timeout=self.connect_timeout,
                              hub_id=self.hub_id)

    # -- requests -------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: dict | None = None,
                data: bytes | None = None, params: dict | None = None, auth: bool = True,
                connect_timeout: float | None = None, timeout: float | None = None,
                content_type: str = "application/json") -> requests.Response:
        """Make one request and sort its failure; return the response if 2xx.

        :param path: appended to the base URL (``/v1/events``).
        :param body: a JSON body; gzip-compressed when it is large.
        :param data: an already encoded JSON body, instead of ``body``.
        :param auth: send the bearer token.
        :raises TransientError, AuthError, RejectedError: see the module docstring.
        """
        headers = {}
        if body is not None:
            data = protocol.encode(body)
        if data is not None:
            headers["Content-Type"] = content_type
            if len(data) >= protocol.GZIP_MIN_BYTES:
                # Level 5: most of the gain of 9 at a fraction of the CPU on a Pi.
                data = gzip.compress(data, compresslevel=5, mtime=0)
                headers["Content-Encoding"] = "gzip"
        url = self.url + path
        try:
            response = self.session.request(
                method, url, data=data, params=params, headers=headers,
                auth=_Bearer(self._token) if auth and self._token else None,
                timeout=(connect_timeout or self.connect_timeout, timeout or self.timeout),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise TransientError(
                f"the TLS certificate of {self.host} could not be verified ({_short(exc)}). "
                "Check the hub's date and time (a wrong clock makes valid certificates look "
                "expired) and [sync] ca_bundle if the platform uses its own CA.",
                kind="tls") from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
            raise TransientError(
                f"{self.host} did not answer within {self.timeout:g} s. "
                "Check the home's internet connection.", kind="timeout") from None
        except requests.exceptions.RequestException as exc:
            # ConnectionError, ChunkedEncodingError (answer cut short), …
            raise TransientError(
                f"cannot reach {self.host} ({_short(exc)}). Check the home's internet "
                "connection (router, Wi-Fi, cable); nothing is lost meanwhile.",
                kind="offline") from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        reason = _reason_of(response)
        what = f"HTTP {status} {_phrase(response)}".strip()
        if status in (401, 403):
            raise AuthError(
                f"{self.host} refused this hub's token ({what}): the hub is not enrolled or "
                "its token was revoked. Enrol it again: hub enroll --url URL --code CODE.",
                status=status)
        if status in (400, 413, 422):
            max_events, max_bytes = _limits_of(response) if status == 413 else (None, None)
            raise RejectedError(f"{self.host} refused the request as invalid ({what}: {reason})",
                                status=status, reason=reason or what,
                                max_events=max_events, max_bytes=max_bytes)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (409, 429) or status >= 500:
            raise TransientError(
                f"{self.host} answered {what}{': ' + reason if reason else ''}; "
                "the hub will retry.", kind="server", status=status, retry_after=retry_after)
        if 300 <= status < 400:
            raise TransientError(
                f"{self.host} redirected to {response.headers.get('Location', '?')} ({what}): "
                "check [sync] url.", kind="http", status=status)
        raise TransientError(
            f"{self.host} answered {what} at {path}: check [sync] url "
            "(is it the platform's base address?).", kind="http", status=status,
            retry_after=retry_after)

    def _json(self, response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"{self.host} sent an answer that is not JSON",
                                 kind="server", status=response.status_code) from None
        if not isinstance(body, dict):
            raise TransientError(f"{self.host} sent an unexpected answer",
                                 kind="server", status=response.status_code)
        return body

    # -- the protocol ---------------------------------------------------------------

    def ping(self) -> dict:
        """``GET /v1/ping``: is the platform there (no token needed)."""
        return self._json(self.request("GET", protocol.PING_PATH, auth=False))

    def enroll(self, serial: str, code: str) -> dict:
        """``POST /v1/enroll``: trade a one-time code for a hub id and device token.

        :returns: the platform's answer: ``{"hub_id", "token", ...}``.
        :raises EnrollmentError: the code was refused, or the answer is unusable.
        :raises TransientError: the platform cannot be reached.
        """
        try:
            response = self.request(
                "POST", protocol.ENROLL_PATH, auth=False,
                body={"serial": serial, "code": code, "model": "elder-home-hub",
                      "software": __version__})
        except (AuthError, RejectedError) as exc:
            raise EnrollmentError(
                f"the platform at {self.host} refused the enrollment code "
                f"(HTTP {exc.status}): it is wrong, already used or expired. "
                "Ask the service centre for a new code.") from None
        body = self._json(response)
        if not isinstance(body.get("hub_id"), str) or not isinstance(body.get("token"), str) \
                or not body["token"]:
            raise EnrollmentError(f"the platform at {self.host} answered without a hub id "
                                  "and token: is this the care platform's address?")
        return body

    def send_events(self, events: list[dict], *, encoded: list[bytes] | None = None,
                    urgent: bool = False) -> list[Result]:
        """``POST /v1/events``: send a batch; return the platform's verdict per event.

        An event the answer does not mention comes back as ``retry``.

        :param events: wire bodies, each with a unique ``id``.
        :param encoded: the same events already encoded with :func:`protocol.encode`
            (saves encoding them twice).
        :param urgent: an SOS request: a short connect timeout, so a dead link is
            noticed quickly and retried.
        """
        if encoded is None:
            encoded = [protocol.encode(e) for e in events]
        # sent_at lets the platform estimate the hub's clock error; hub_id lets it
        # route an SOS even when it refuses the token (docs/platform-api.yaml).
        hub = b',"hub_id":%s' % protocol.encode(self.hub_id) if self.hub_id else b""
        data = b'{"sent_at":"%s"%s,"events":[%s]}' % (
            to_rfc3339(utc_now()).encode(), hub, b",".join(encoded))
        response = self.request(
            "POST", protocol.EVENTS_PATH, data=data,
            connect_timeout=min(self.connect_timeout, URGENT_CONNECT_TIMEOUT) if urgent else None,
        )
        body = self._json(response)
        results = body.get("results")
        if not isinstance(results, list):
            raise TransientError(f"{self.host} answered without per-event results",
                                 kind="server", status=response.status_code)
        by_id = {}
        for r in results:
            if isinstance(r, dict) and isinstance(r.get("id"), str) \
                    and r.get("status") in protocol.RESULT_STATUSES:
                by_id[r["id"]] = Result(r["id"], r["status"], r.get("reason"))
        return [by_id.get(e["id"]) or Result(e["id"], protocol.RETRY, "no result for this event")
                for e in events]

    def fetch_inbox(self, cursor: str | None, *, limit: int = 100) -> dict:
        """``GET /v1/inbox``: messages after ``cursor``, oldest first.

        :returns: ``{"messages": [{"id", "kind", "data", "cursor"}...], "next_cursor",
            "more"}``.
        """
        params = {"limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        body = self._json(self.request("GET", protocol.INBOX_PATH, params=params))
        if not isinstance(body.get("messages"), list):
            raise TransientError(f"{self.host} sent an inbox answer without messages",
                                 kind="server")
        return body

    def post_fhir(self, resource: dict, *, urgent: bool = False) -> dict:
        """POST a FHIR resource (a transaction Bundle) to the FHIR base URL.

        :returns: the server's answer (a transaction-response Bundle).
        """
        response = self.request(
            "POST", "", body=resource, content_type="application/fhir+json",
            connect_timeout=min(self.connect_timeout, URGENT_CONNECT_TIMEOUT) if urgent else None)
        return self._json(response)


def _short(exc: BaseException) -> str:
    """The innermost reason of a requests error, without URLs or object reprs."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Connection reset", "Remote end closed connection", "IncompleteRead",
                   "certificate verify failed", "Network is unreachable",
                   "Temporary failure in name resolution", "Connection aborted",
                   "Broken pipe", "No route to host"):
        if marker.lower() in text.lower():
            return marker
    return type(exc).__name__
