"""The servers the kiosk edge asks, each through the shared client (adapters/upstream.py):

- device-sync, who a clock credential is (``GET /clock/v1/whoami``, the kiosk's own
  ``Authorization`` passed through: the gateway never sees the credential's hash); the answer
  kept a short while by ``CachedClocks``, under the credential's SHA-256, and forgotten as soon
  as the clock changes (the clocks topic, or the admin's request through this replica);
- identity, the public key PINs are sealed to (``GET /internal/v1/pin-sealing-key``), kept in
  memory and fetched again every few minutes (identity may rotate it);
- punch, the outcome of an attempt (``GET /internal/v1/attempts/{attempt_id}``), asked with an
  internal caller token of role ``clock`` naming the clock and its tenant;
- identity, a kiosk sign-in (``POST /internal/v1/kiosk/sign-ins``, the PIN sealed as for a
  punch), asked as the clock the same way.

Nothing here logs a credential, a PIN or a response body."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from google.protobuf.json_format import ParseDict, ParseError
from nacl.public import PublicKey
from prometheus_client import Counter
from punchcard.v1 import common_pb2
from punchcard_kit.internal_auth import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.sealing import seal_bound

from ..domain.kiosk import OUTCOME_TYPES, Clock, ClockUnauthorized, Outcome
from ..domain.model import Unavailable
from ..service_layer.kiosk_elevation import EnrolmentAnswer, SignInAnswer
from .upstream import Upstream, UpstreamUnavailable

log = get_logger(__name__)

CLOCK_ANSWERS = Counter(
    "punchcard_kiosk_clock_answers_total",
    "Who a kiosk's credential is, answered from the edge's cache (source=cache) or asked of"
    " device-sync (source=device-sync)",
    ["source"],
)
# Bound once: every kiosk request counts one of them.
_FROM_CACHE = CLOCK_ANSWERS.labels("cache")
_FROM_DEVICE_SYNC = CLOCK_ANSWERS.labels("device-sync")


class DeviceSyncClocks:
    """``ClockDirectory``: device-sync decides, on every request."""

    def __init__(self, upstream: Upstream, timeout_s: float) -> None:
        self.upstream = upstream
        self.timeout_s = timeout_s

    async def whoami(self, credential: str) -> Clock:
        try:
            response = await self.upstream.call(
                "GET",
                "/clock/v1/whoami",
                headers={"authorization": f"Bearer {credential}", "accept": "application/json"},
                timeout=self.timeout_s,
            )
        except UpstreamUnavailable:
            raise Unavailable(self.upstream.unavailable_message) from None
        if response.status_code == 401:
            raise ClockUnauthorized()
        if response.status_code != 200:
            log.warning(
                "device-sync could not tell who a clock is; answering 503",
                status=response.status_code,
            )
            raise Unavailable(self.upstream.unavailable_message)
        try:
            body = response.json()
            return Clock(
                tenant_id=str(uuid.UUID(body["tenant_id"])),
                clock_id=str(body["clock_id"]),
                name=str(body.get("name") or ""),
                site_id=str(body.get("site_id") or ""),
                time_zone=str(body.get("time_zone") or ""),
            )
        except (ValueError, KeyError, TypeError) as error:
            log.error("device-sync's whoami answer is unreadable", error=type(error).__name__)
            raise Unavailable(self.upstream.unavailable_message) from None

    def forget(self, tenant_id: str, clock_id: str) -> None:
        """Nothing kept here: device-sync decides every time."""


class CachedClocks:
    """``ClockDirectory``: device-sync's answers (``inner``), each kept ``ttl_s`` under the
    SHA-256 of its credential (never the credential), at most ``max_entries`` (the least
    recently used go first). A kiosk asks on every request; device-sync is asked again only
    when the answer is older than that, or was forgotten:

    - ``forget`` (the clock was updated, revoked or given a new credential: the clocks topic's
      events, followed by every replica, and the admin's own request through this one) drops
      the clock's answers, and an answer asked for before a ``forget`` and received after it
      is not kept (it may predate the change);
    - nothing is kept or used while ``live()`` is false (the follower of those events is not
      reading: Kafka down, starting): device-sync is asked every time, as without a cache, and
      what was kept is dropped, since a change may have been missed meanwhile.

    A refusal (401) or an error is never kept. ``ttl_s`` bounds how long a change can go
    unnoticed if its event is lost on the way (KIOSK_CLOCK_CACHE_S)."""

    def __init__(
        self,
        inner: DeviceSyncClocks,
        *,
        ttl_s: float,
        live: Callable[[], bool],
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self.live = live
        self.max_entries = max_entries
        self._clock = clock
        self._answers: OrderedDict[bytes, tuple[float, Clock]] = OrderedDict()
        self._of_clock: dict[tuple[str, str], set[bytes]] = {}
        self._forgets = 0  # how many times a clock was forgotten: a kept answer must postdate

    async def whoami(self, credential: str) -> Clock:
        if self.ttl_s <= 0 or not self.live():
            if self._answers:
                self.clear()
            _FROM_DEVICE_SYNC.inc()
            return await self.inner.whoami(credential)
        key = hashlib.sha256(credential.encode()).digest()
        kept = self._answers.get(key)
        if kept is not None:
            until, clock = kept
            if self._clock() < until:
                self._answers.move_to_end(key)
                _FROM_CACHE.inc()
                return clock
            self._drop(key)
        forgets = self._forgets
        _FROM_DEVICE_SYNC.inc()
        clock = await self.inner.whoami(credential)
        if forgets == self._forgets and self.live():
            self._keep(key, clock)
        return clock

    def forget(self, tenant_id: str, clock_id: str) -> None:
        self._forgets += 1
        for key in self._of_clock.pop((_canonical(tenant_id), _canonical(clock_id)), ()):
            self._answers.pop(key, None)

    def clear(self) -> None:
        self._forgets += 1
        self._answers.clear()
        self._of_clock.clear()

    def __len__(self) -> int:
        return len(self._answers)

    def _keep(self, key: bytes, clock: Clock) -> None:
        self._drop(key)
        self._answers[key] = (self._clock() + self.ttl_s, clock)
        self._of_clock.setdefault((clock.tenant_id, clock.clock_id), set()).add(key)
        while len(self._answers) > self.max_entries:
            self._drop(next(iter(self._answers)))

    def _drop(self, key: bytes) -> None:
        kept = self._answers.pop(key, None)
        if kept is None:
            return
        clock = kept[1]
        keys = self._of_clock.get((clock.tenant_id, clock.clock_id))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._of_clock[(clock.tenant_id, clock.clock_id)]


def _canonical(id_: str) -> str:
    """An id as ``Clock`` spells it (device-sync's answer: lower-case UUIDs), however an
    envelope or an admin's URL spelt it."""
    try:
        return str(uuid.UUID(id_))
    except ValueError:
        return id_


class IdentitySealingKeys:
    """``PinSealer``: seals ``"<attempt_id>:<pin>"`` in a libsodium sealed box to identity's
    current public key. The key is fetched at first use and refreshed every ``refresh_s``; a
    failed refresh keeps the key in hand (identity keeps opening boxes of its previous keys
    for a while) and is tried again in ``retry_s``. Without any key, sealing is Unavailable."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        refresh_s: float,
        timeout_s: float,
        retry_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._clock = clock
        self._key: tuple[str, bytes] | None = None
        self._next_fetch = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[str, bytes]:
        """(key id, 32-byte X25519 public key)."""
        if self._key is not None and self._clock() < self._next_fetch:
            return self._key
        async with self._lock:
            if self._key is not None and self._clock() < self._next_fetch:
                return self._key
            try:
                self._key = await self._fetch()
                self._next_fetch = self._clock() + self.refresh_s
            except Unavailable:
                if self._key is None:
                    raise
                self._next_fetch = self._clock() + self.retry_s
                log.warning(
                    "identity's PIN-sealing key could not be refreshed; keeping the one in hand",
                    key_id=self._key[0],
                    retry_in_s=self.retry_s,
                )
            return self._key

    async def _fetch(self) -> tuple[str, bytes]:
        try:
            response = await self.upstream.call(
                "GET",
                "/internal/v1/pin-sealing-key",
                headers={"accept": "application/json"},
                timeout=self.timeout_s,
            )
        except UpstreamUnavailable:
            raise Unavailable(self.upstream.unavailable_message) from None
        if response.status_code >= 500:
            log.warning("identity could not give its PIN-sealing key", status=response.status_code)
            raise Unavailable(self.upstream.unavailable_message)
        try:
            if response.status_code != 200:
                raise ValueError(f"status {response.status_code}")
            body = response.json()
            key_id = str(body["key_id"])
            key = base64.b64decode(body["public_key"], validate=True)
            if not key_id or len(key) != PublicKey.SIZE:
                raise ValueError("not a key id and a 32-byte public key")
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            log.error("identity's PIN-sealing key answer is unusable", error=str(error)[:200])
            raise Unavailable(self.upstream.unavailable_message) from None
        if self._key is None or self._key[0] != key_id:
            log.info("PIN-sealing key in use", key_id=key_id)
        return key_id, key

    async def seal(self, attempt_id: str, pin: str) -> common_pb2.SealedBox:
        key_id, key = await self.current()
        ciphertext = seal_bound(key, attempt_id, pin)
        return common_pb2.SealedBox(ciphertext=ciphertext, recipient_key_id=key_id)


class PunchOutcomes:
    """``OutcomeLookup``: the punch service's record of an attempt. Its contract:
    ``GET /internal/v1/attempts/{attempt_id}`` → 200 ``{"type": "punchcard.v1.Punch…",
    "payload": <the event as protobuf JSON, field names as in the .proto>}`` or 404 (not
    decided yet). Anything else, or punch being down, is "not known yet" (a warning)."""

    def __init__(self, upstream: Upstream, timeout_s: float) -> None:
        self.upstream = upstream
        self.timeout_s = timeout_s

    async def outcome(self, clock: Clock, attempt_id: str) -> Outcome | None:
        caller = Caller(tenant_id=clock.tenant_id, user_id=clock.clock_id, role="clock")
        headers = {
            "authorization": "Bearer " + self.upstream.internal_token(caller),
            "x-request-id": caller.request_id,
            "accept": "application/json",
        }
        try:
            response = await self.upstream.call(
                "GET",
                f"/internal/v1/attempts/{attempt_id}",
                headers=headers,
                timeout=self.timeout_s,
            )
        except UpstreamUnavailable:
            return None  # logged by the upstream: the kiosk is told "pending"
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning(
                "punch could not tell an attempt's outcome; answering pending",
                status=response.status_code,
                attempt_id=attempt_id,
            )
            return None
        try:
            body = response.json()
            cls = OUTCOME_TYPES[body["type"]]
            event = ParseDict(body["payload"], cls(), ignore_unknown_fields=True)
        except (ValueError, KeyError, TypeError, ParseError) as error:
            log.warning(
                "punch's outcome answer is unreadable; answering pending",
                attempt_id=attempt_id,
                error=type(error).__name__,
            )
            return None
        if event.attempt_id != attempt_id:
            log.warning(
                "punch answered the outcome of another attempt; answering pending",
                attempt_id=attempt_id,
            )
            return None
        return event


def clock_caller_headers(upstream: Upstream, clock: Clock) -> dict[str, str]:
    """An internal token of role ``clock`` naming the clock and its tenant."""
    caller = Caller(tenant_id=clock.tenant_id, user_id=clock.clock_id, role="clock")
    return {
        "authorization": "Bearer " + upstream.internal_token(caller),
        "x-request-id": caller.request_id,
        "accept": "application/json",
    }


class IdentitySignIns:
    """``SignInChecker``: identity's ``POST /internal/v1/kiosk/sign-ins``. Identity down, or an
    answer that cannot be read, is Unavailable (503: the kiosk says so and nothing changes)."""

    def __init__(self, upstream: Upstream, timeout_s: float) -> None:
        self.upstream = upstream
        self.timeout_s = timeout_s

    async def sign_in(
        self, clock: Clock, attempt_id: str, employee_id: str, sealed: common_pb2.SealedBox
    ) -> SignInAnswer:
        body = {
            "attempt_id": attempt_id,
            "employee_id": employee_id,
            "sealed_pin": {
                "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
                "recipient_key_id": sealed.recipient_key_id,
            },
        }
        headers = clock_caller_headers(self.upstream, clock)
        headers["content-type"] = "application/json"
        try:
            response = await self.upstream.call(
                "POST",
                "/internal/v1/kiosk/sign-ins",
                headers=headers,
                content=json.dumps(body).encode(),
                timeout=self.timeout_s,
            )
        except UpstreamUnavailable:
            raise Unavailable(self.upstream.unavailable_message) from None
        if response.status_code != 200:
            log.warning("identity refused a kiosk sign-in check", status=response.status_code)
            raise Unavailable(self.upstream.unavailable_message)
        try:
            answer = response.json()
            locked = answer.get("locked_until")
            return SignInAnswer(
                signed_in=bool(answer["signed_in"]),
                worker_id=str(answer.get("worker_id") or ""),
                employee_id=str(answer.get("employee_id") or ""),
                name=str(answer.get("name") or ""),
                clock_role=str(answer.get("clock_role") or ""),
                reason=str(answer.get("reason") or ""),
                attempts_remaining=int(answer.get("attempts_remaining") or 0),
                locked_until=datetime.fromisoformat(locked) if locked else None,
            )
        except (ValueError, KeyError, TypeError) as error:
            log.error("identity's sign-in answer is unreadable", error=type(error).__name__)
            raise Unavailable(self.upstream.unavailable_message) from None


class FaceMatchKioskEnrolments:
    """``FaceEnroller``: face-match's ``POST /internal/v1/kiosk/face-enrolments``, asked as the
    clock. Its 2xx and 4xx answers are passed on (status and body); face-match down or failing
    is Unavailable. The frame is never logged."""

    def __init__(self, upstream: Upstream, timeout_s: float) -> None:
        self.upstream = upstream
        self.timeout_s = timeout_s

    async def enrol(
        self, clock: Clock, employee_id: str, enrolled_by: str, frame_jpeg: bytes
    ) -> EnrolmentAnswer:
        body = {
            "employee_id": employee_id,
            "enrolled_by": enrolled_by,
            "consent": True,
            "frame_jpeg": base64.b64encode(frame_jpeg).decode(),
        }
        headers = clock_caller_headers(self.upstream, clock)
        headers["content-type"] = "application/json"
        try:
            response = await self.upstream.call(
                "POST",
                "/internal/v1/kiosk/face-enrolments",
                headers=headers,
                content=json.dumps(body).encode(),
                timeout=self.timeout_s,
            )
        except UpstreamUnavailable:
            raise Unavailable(self.upstream.unavailable_message) from None
        if response.status_code >= 500 or response.status_code < 200:
            log.warning("face-match could not enrol at a kiosk", status=response.status_code)
            raise Unavailable(self.upstream.unavailable_message)
        try:
            answer = response.json()
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except ValueError:
            log.error("face-match's enrolment answer is unreadable")
            raise Unavailable(self.upstream.unavailable_message) from None
        if response.status_code in (401, 403) and answer.get("code") in (
            "UNAUTHENTICATED",
            "FORBIDDEN",
            "CLOCK_ONLY",
        ):
            # The edge's own call was refused (a key or configuration problem), not the kiosk.
            log.error("face-match refused the kiosk edge's call", status=response.status_code)
            raise Unavailable(self.upstream.unavailable_message)
        return EnrolmentAnswer(response.status_code, answer)


class FaceMatchEvidencePolicy:
    """Whether a clock's tenant keeps a photo of every punch (issue 17): face-match's
    ``GET /internal/v1/kiosk/evidence-policy``, asked as the clock, remembered per tenant for
    ``ttl_s``. Any failure answers False (the kiosk captures nothing it was not asked for)."""

    def __init__(self, upstream: Upstream, timeout_s: float, ttl_s: float = 60.0) -> None:
        self.upstream = upstream
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, bool]] = {}

    async def keeps_photos(self, clock: Clock) -> bool:
        known = self._known.get(clock.tenant_id)
        if known is not None and time.monotonic() - known[0] < self.ttl_s:
            return known[1]
        try:
            response = await self.upstream.call(
                "GET",
                "/internal/v1/kiosk/evidence-policy",
                headers=clock_caller_headers(self.upstream, clock),
                timeout=self.timeout_s,
            )
            answer = response.json() if response.status_code == 200 else {}
            keeps = answer.get("evidence_photos") is True if isinstance(answer, dict) else False
        except (UpstreamUnavailable, ValueError):
            log.warning("face-match's evidence policy is not known; no photos asked for")
            return False
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[clock.tenant_id] = (time.monotonic(), keeps)
        return keeps
