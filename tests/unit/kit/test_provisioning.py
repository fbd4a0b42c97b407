"""The pure parts of provisioning: the service's URL and which NOLOGIN roles it needs."""

import pytest
from punchcard_kit.provisioning import login_url, service_roles
from punchcard_kit.settings import ServiceSettings


def test_the_service_url_is_the_owner_on_its_own_database():
    url = login_url(
        "postgresql://postgres@db.internal:5432/postgres", "punchcard_x", "punchcard_x", "p.w-1"
    )
    assert url == "postgresql://punchcard_x:p.w-1@db.internal:5432/punchcard_x"
    assert login_url("postgresql://postgres:secret@h:1", "d", "d", None) == "postgresql://d@h:1/d"


def test_the_gateway_needs_three_roles_the_others_one():
    assert service_roles("gateway") == ("app", "lookup", "retention")
    assert service_roles("identity") == ("app",)


def test_client_timeouts_have_bounded_defaults(monkeypatch):
    monkeypatch.setenv("DB_COMMAND_TIMEOUT_S", "0")
    with pytest.raises(ValueError):
        ServiceSettings(environment="test")
    monkeypatch.delenv("DB_COMMAND_TIMEOUT_S")
    s = ServiceSettings(environment="test")
    assert (s.db_connect_timeout_s, s.db_command_timeout_s) == (10, 30)
    assert (s.redis_connect_timeout_s, s.redis_timeout_s) == (2, 2)
