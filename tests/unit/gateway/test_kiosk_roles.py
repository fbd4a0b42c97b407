"""What a clock role lets a worker do at a kiosk (domain.kiosk_roles), and the sign-in with
its elevation token (service_layer.kiosk_elevation) on fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import jwt
import pytest
from punchcard.v1 import common_pb2
from punchcard_gateway.domain.kiosk import Clock
from punchcard_gateway.domain.kiosk_roles import (
    ClockRole,
    ElevationInvalid,
    KioskAction,
    KioskRoleRequired,
    KioskSignInRefused,
    SelfEnrolment,
    check_enrolment,
    kiosk_actions,
    may,
    role_of,
)
from punchcard_gateway.service_layer.kiosk_elevation import (
    AUDIENCE,
    ElevationTokens,
    KioskElevations,
    SignInAnswer,
)

SECRET = "a-test-secret-of-enough-length-for-hs256"
TENANT = str(uuid.uuid4())
CLOCK = Clock(tenant_id=TENANT, clock_id="c1", name="Front", site_id="", time_zone="UTC")
CREDENTIAL = "pcc_front"


@pytest.mark.parametrize(
    ("role", "settings", "enrol"),
    [
        (ClockRole.USER, False, False),
        (ClockRole.MANAGER, False, True),
        (ClockRole.ADMINISTRATOR, True, True),
    ],
)
def test_which_roles_may_do_what_at_a_kiosk(role, settings, enrol):
    assert may(role, KioskAction.OPEN_SETTINGS) is settings
    assert may(role, KioskAction.ENROL_FACE) is enrol
    assert bool(kiosk_actions(role)) is (role is not ClockRole.USER)


def test_an_unknown_or_missing_role_is_the_least():
    assert role_of(None) is role_of("") is role_of("OWNER") is ClockRole.USER
    assert role_of("MANAGER") is ClockRole.MANAGER


def test_a_manager_enrols_another_worker_never_themself_and_a_user_nobody():
    check_enrolment(ClockRole.MANAGER, "w1", "w2")
    with pytest.raises(SelfEnrolment):
        check_enrolment(ClockRole.ADMINISTRATOR, "w1", "w1")
    with pytest.raises(KioskRoleRequired):
        check_enrolment(ClockRole.USER, "w1", "w2")


class FakeSealer:
    def __init__(self) -> None:
        self.sealed: list[tuple[str, str]] = []

    async def seal(self, attempt_id: str, pin: str) -> common_pb2.SealedBox:
        self.sealed.append((attempt_id, pin))
        return common_pb2.SealedBox(ciphertext=f"{attempt_id}:{pin}".encode(), recipient_key_id="k")


class FakeChecker:
    def __init__(self, answer: SignInAnswer) -> None:
        self.answer = answer
        self.asked: list[tuple[Clock, str, str, bytes]] = []

    async def sign_in(self, clock, attempt_id, employee_id, sealed) -> SignInAnswer:
        self.asked.append((clock, attempt_id, employee_id, sealed.ciphertext))
        return self.answer


def elevations(answer: SignInAnswer, now: float = 1_000_000.0) -> KioskElevations:
    tokens = ElevationTokens(SECRET, ttl_s=300, clock=lambda: now)
    return KioskElevations(
        sealer=FakeSealer(), checker=FakeChecker(answer), tokens=tokens, now=lambda: now
    )


ADMIN = SignInAnswer(
    signed_in=True, worker_id="w1", employee_id="E1", name="Ada", clock_role="ADMINISTRATOR"
)


async def test_a_sign_in_seals_the_pin_to_a_fresh_nonce_and_mints_a_bound_elevation():
    edge = elevations(ADMIN)
    elevation, token = await edge.sign_in(CLOCK, CREDENTIAL, "E1", "4827")
    [(nonce, pin)] = edge.sealer.sealed
    assert pin == "4827" and uuid.UUID(nonce)
    [(_, asked_nonce, employee_id, ciphertext)] = edge.checker.asked
    assert (asked_nonce, employee_id) == (nonce, "E1") and ciphertext == f"{nonce}:4827".encode()
    assert elevation.role is ClockRole.ADMINISTRATOR and elevation.worker_id == "w1"
    assert elevation.expires_at == datetime.fromtimestamp(1_000_300, UTC)
    assert "4827" not in token
    again = edge.verify(token, CLOCK, CREDENTIAL)
    assert again == elevation


@pytest.mark.parametrize(
    "case", ["other clock", "other credential", "other tenant", "expired", "forged", "absent"]
)
async def test_an_elevation_is_worth_nothing_elsewhere_later_or_forged(case):
    edge = elevations(ADMIN)
    _, token = await edge.sign_in(CLOCK, CREDENTIAL, "E1", "4827")
    clock, credential = CLOCK, CREDENTIAL
    if case == "other clock":
        clock = Clock(tenant_id=TENANT, clock_id="c2", name="", site_id="", time_zone="UTC")
    elif case == "other credential":
        credential = "pcc_rotated"
    elif case == "other tenant":
        clock = Clock(tenant_id=str(uuid.uuid4()), clock_id="c1", name="", site_id="", time_zone="")
    elif case == "expired":
        edge.tokens = ElevationTokens(SECRET, clock=lambda: 1_000_301.0)
    elif case == "forged":
        claims = jwt.decode(token, options={"verify_signature": False})
        token = jwt.encode({**claims, "aud": AUDIENCE}, "another-secret-of-enough-length!", "HS256")
    else:
        token = None
    with pytest.raises(ElevationInvalid):
        edge.verify(token, clock, credential)


async def test_an_admin_access_token_is_no_elevation():
    from punchcard_gateway.service_layer.tokens import AUDIENCE as ADMIN_AUDIENCE

    token = jwt.encode(
        {
            "aud": ADMIN_AUDIENCE,
            "exp": 2_000_000,
            "sub": "u",
            "tenant": TENANT,
            "clock": "c1",
            "cred": "x",
            "role": "ADMINISTRATOR",
        },
        SECRET,
        "HS256",
    )
    with pytest.raises(ElevationInvalid):
        elevations(ADMIN).verify(token, CLOCK, CREDENTIAL)


async def test_a_user_is_refused_and_a_refused_pin_says_why_in_a_403():
    user = SignInAnswer(signed_in=True, worker_id="w1", clock_role="USER")
    with pytest.raises(KioskRoleRequired) as refused:
        await elevations(user).sign_in(CLOCK, CREDENTIAL, "E1", "4827")
    assert refused.value.body()["code"] == "KIOSK_ROLE_REQUIRED"

    wrong = SignInAnswer(signed_in=False, reason="WRONG_PIN", attempts_remaining=2)
    with pytest.raises(KioskSignInRefused) as refused:
        await elevations(wrong).sign_in(CLOCK, CREDENTIAL, "E1", "0000")
    body = refused.value.body()
    assert body["code"] == "WRONG_PIN" and body["field"] == "pin"
    assert body["message"] == "Wrong PIN — 2 tries left" and body["attempts_remaining"] == 2

    # An inactive worker is told apart from nobody no more than at a punch.
    inactive = SignInAnswer(signed_in=False, reason="INACTIVE")
    with pytest.raises(KioskSignInRefused) as refused:
        await elevations(inactive).sign_in(CLOCK, CREDENTIAL, "E1", "4827")
    assert refused.value.body()["code"] == "UNKNOWN_USER"


class FakeEnroller:
    def __init__(self, status: int = 200, body: dict | None = None) -> None:
        self.status, self.body = (
            status,
            body or {"worker_id": "00000000-0000-0000-0000-0000000000aa"},
        )
        self.asked: list[tuple[str, str]] = []

    async def enrol(self, clock, employee_id, enrolled_by, frame_jpeg):
        from punchcard_gateway.service_layer.kiosk_elevation import EnrolmentAnswer

        self.asked.append((employee_id, enrolled_by))
        return EnrolmentAnswer(self.status, self.body)


class FakeAudit:
    def __init__(self) -> None:
        self.entries = []

    async def record(self, entry) -> None:
        self.entries.append(entry)


MANAGER = SignInAnswer(
    signed_in=True,
    worker_id="00000000-0000-0000-0000-0000000000bb",
    employee_id="M1",
    name="Mo",
    clock_role="MANAGER",
)


async def test_a_kiosk_enrolment_is_forwarded_for_the_signed_in_worker_and_audited():
    edge = elevations(MANAGER)
    edge.enroller, edge.audit = FakeEnroller(), FakeAudit()
    _, token = await edge.sign_in(CLOCK, CREDENTIAL, "M1", "4827")
    answer = await edge.enrol_face(CLOCK, CREDENTIAL, token, "E2", b"\xff\xd8\xff", True)
    assert answer.status == 200
    assert edge.enroller.asked == [("E2", MANAGER.worker_id)]
    [entry] = edge.audit.entries
    assert (str(entry.actor_id), entry.target_id, entry.clock_id, entry.status_code) == (
        MANAGER.worker_id,
        "00000000-0000-0000-0000-0000000000aa",
        "c1",
        200,
    )


@pytest.mark.parametrize(
    ("employee_id", "consent", "status"),
    [("M1", True, 403), ("m1", True, 403), ("E2", False, 422)],  # "m1": M1 in other capitals
)
async def test_self_enrolment_and_no_consent_are_refused_here_and_audited(
    employee_id, consent, status
):
    from punchcard_gateway.domain.model import DomainError
    from punchcard_kit.http_errors import status_of

    edge = elevations(MANAGER)
    edge.enroller, edge.audit, edge.status_of = FakeEnroller(), FakeAudit(), status_of
    _, token = await edge.sign_in(CLOCK, CREDENTIAL, "M1", "4827")
    with pytest.raises(DomainError):
        await edge.enrol_face(CLOCK, CREDENTIAL, token, employee_id, b"\xff\xd8\xff", consent)
    assert edge.enroller.asked == []
    [entry] = edge.audit.entries
    assert (entry.target_id, entry.status_code) == (employee_id, status)
