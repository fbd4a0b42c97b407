"""A worker signs in at a kiosk app (Manager / Administrator; domain.kiosk_roles): the
kiosk's Employee ID and PIN are checked by identity — which owns PINs — by the PIN punch's
own rule, counters and locks, synchronously and without a punch; identity answers the
worker's role on this clock (its projection of device-sync's assignments). A role that opens
something at a kiosk gets a short-lived **elevation**: a token the kiosk sends back with what
it opens (``X-Kiosk-Elevation``), bound to the clock, its credential, the worker and the role.

The PIN is sealed to identity's key (bound to a fresh nonce) exactly as a PIN punch's is, and
goes nowhere else: not to Kafka, not to a log."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import jwt
from punchcard.v1 import common_pb2
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.logging import get_logger

from ..domain.kiosk import Clock
from ..domain.kiosk_roles import (
    ELEVATION_TTL_S,
    Elevation,
    ElevationInvalid,
    check_enrolment,
    check_sign_in,
    role_of,
    sign_in_refusal,
)
from ..domain.model import AuditEntry, DomainError, Unavailable
from .kiosk import PinSealer
from .tokens import decode_hs256

log = get_logger(__name__)

AUDIENCE = "punchcard-kiosk-elevation"


@dataclass(frozen=True)
class SignInAnswer:
    """Identity's answer: the worker and their role on the clock, or the reason."""

    signed_in: bool
    worker_id: str = ""
    employee_id: str = ""
    name: str = ""
    clock_role: str = ""
    reason: str = ""
    attempts_remaining: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class EnrolmentAnswer:
    """face-match's answer to a kiosk enrolment: its status and body (its 4xx passed on as
    they are: the reason for each refused photo, a worker not on this clock...)."""

    status: int
    body: dict


class FaceEnroller(Protocol):
    async def enrol(
        self, clock: Clock, employee_id: str, enrolled_by: str, frame_jpeg: bytes
    ) -> EnrolmentAnswer:
        """face-match's enrolment at a kiosk (Unavailable when it cannot answer)."""


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...


class SignInChecker(Protocol):
    async def sign_in(
        self, clock: Clock, attempt_id: str, employee_id: str, sealed: common_pb2.SealedBox
    ) -> SignInAnswer:
        """Identity's verdict on the sealed PIN (Unavailable when identity cannot answer)."""


def credential_binding(credential: str) -> str:
    """What a token keeps of the clock's credential: its SHA-256 (a rotated credential makes
    every elevation of the old one worthless)."""
    return hashlib.sha256(credential.encode()).hexdigest()


@dataclass(frozen=True)
class ElevationTokens:
    """HS256 JWTs under the gateway's own secret (the admin tokens' plumbing, PyJWT), of their
    own audience: no admin token passes for an elevation, nor the reverse."""

    secret: str
    ttl_s: int = ELEVATION_TTL_S
    clock: Callable[[], float] = time.time

    def mint(self, elevation: Elevation, credential: str) -> str:
        now = int(self.clock())
        claims = {
            "aud": AUDIENCE,
            "iat": now,
            "exp": int(elevation.expires_at.timestamp()),
            "sub": elevation.worker_id,
            "tenant": elevation.tenant_id,
            "clock": elevation.clock_id,
            "cred": credential_binding(credential),
            "role": elevation.role.value,
            "eid": elevation.employee_id,
            "name": elevation.name,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str, clock: Clock, credential: str) -> Elevation:
        """The elevation, if the token is ours, unexpired, and of this clock and credential."""
        try:
            claims = decode_hs256(
                token,
                self.secret,
                audience=AUDIENCE,
                required=("exp", "aud", "sub", "tenant", "clock", "cred", "role"),
                now=self.clock(),
            )
        except jwt.ExpiredSignatureError:
            raise ElevationInvalid("the sign-in expired: sign in again") from None
        except jwt.PyJWTError:
            raise ElevationInvalid("sign in again") from None
        if (
            claims["tenant"] != clock.tenant_id
            or claims["clock"] != clock.clock_id
            or claims["cred"] != credential_binding(credential)
        ):
            raise ElevationInvalid("this sign-in is of another clock: sign in again")
        return Elevation(
            tenant_id=clock.tenant_id,
            clock_id=clock.clock_id,
            worker_id=str(claims["sub"]),
            employee_id=str(claims.get("eid") or ""),
            name=str(claims.get("name") or ""),
            role=role_of(claims["role"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )


ENROLMENT_ACTION = "POST /kiosk/v1/face-enrolments"


@dataclass
class KioskElevations:
    sealer: PinSealer
    checker: SignInChecker
    tokens: ElevationTokens
    enroller: FaceEnroller | None = None
    audit: AuditLog | None = None
    # The HTTP status a refusal is answered with, for its audit row (the kit's mapping, given
    # by the composition root: this layer speaks no HTTP).
    status_of: Callable[[DomainError], int] = lambda error: 400
    now: Callable[[], float] = time.time

    async def enrol_face(
        self,
        clock: Clock,
        credential: str,
        token: str | None,
        employee_id: str,
        frame_jpeg: bytes,
        consent: bool,
        *,
        client_ip: str | None = None,
        request_id: str | None = None,
    ) -> EnrolmentAnswer:
        """A Manager (or Administrator) signed in here enrols another worker's face: the
        elevation and role checked here, then face-match enrols it (checking the worker is of
        this clock and tenant, and not the signed-in one). Audited whatever the answer, as the
        portal's enrolments are: who (the signed-in worker), whom, at which clock."""
        assert self.enroller is not None
        elevation = self.verify(token, clock, credential)
        audited = {"client_ip": client_ip, "request_id": request_id}
        try:
            check_enrolment(
                elevation.role,
                employee_id_key(elevation.employee_id),
                employee_id_key(employee_id),  # their own ID in other capitals is still theirs
                consent,
            )
            answer = await self.enroller.enrol(clock, employee_id, elevation.worker_id, frame_jpeg)
        except DomainError as error:
            if not isinstance(error, Unavailable):  # an outage is logged, not audited
                await self._audit(clock, elevation, employee_id, self.status_of(error), **audited)
            raise
        target = answer.body.get("worker_id") if answer.status == 200 else None
        await self._audit(clock, elevation, str(target or employee_id), answer.status, **audited)
        log.info(
            "kiosk face enrolment",
            tenant_id=clock.tenant_id,
            clock_id=clock.clock_id,
            enrolled_by=elevation.worker_id,
            worker_id=target,
            status=answer.status,
        )
        return answer

    async def sign_in(
        self, clock: Clock, credential: str, employee_id: str, pin: str
    ) -> tuple[Elevation, str]:
        """(the elevation, its token); 403 with identity's reason, or KIOSK_ROLE_REQUIRED for a
        USER. Nothing is punched."""
        nonce = str(uuid.uuid4())
        sealed = await self.sealer.seal(nonce, pin)
        answer = await self.checker.sign_in(clock, nonce, employee_id, sealed)
        if not answer.signed_in:
            log.info(
                "kiosk sign-in refused",
                tenant_id=clock.tenant_id,
                clock_id=clock.clock_id,
                reason=answer.reason,
            )
            raise sign_in_refusal(answer.reason, answer.attempts_remaining, answer.locked_until)
        role = role_of(answer.clock_role)
        log.info(
            "kiosk sign-in",
            tenant_id=clock.tenant_id,
            clock_id=clock.clock_id,
            worker_id=answer.worker_id,
            clock_role=role.value,
        )
        check_sign_in(role)
        elevation = Elevation(
            tenant_id=clock.tenant_id,
            clock_id=clock.clock_id,
            worker_id=answer.worker_id,
            employee_id=answer.employee_id,
            name=answer.name,
            role=role,
            expires_at=datetime.fromtimestamp(int(self.now()) + self.tokens.ttl_s, UTC),
        )
        return elevation, self.tokens.mint(elevation, credential)

    async def _audit(
        self,
        clock: Clock,
        elevation: Elevation,
        target: str,
        status: int,
        *,
        client_ip: str | None,
        request_id: str | None,
    ) -> None:
        """Who (the signed-in worker) enrolled whom (the worker's id; for a refusal, the
        Employee ID typed) at which clock, and the answer's status."""
        if self.audit is None:
            return
        await self.audit.record(
            AuditEntry(
                tenant_id=uuid.UUID(clock.tenant_id),
                actor_id=_uuid_or_none(elevation.worker_id),
                action=ENROLMENT_ACTION,
                target_id=target,
                status_code=status,
                client_ip=client_ip,
                user_agent=None,
                request_id=request_id,
                clock_id=clock.clock_id,
            )
        )

    def verify(self, token: str | None, clock: Clock, credential: str) -> Elevation:
        if not token:
            raise ElevationInvalid("sign in first (Manager / Administrator)")
        return self.tokens.verify(token, clock, credential)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
