"""The one site-scoping rule (Caller.site_scope / may_act_on_site) and the service-layer checks
built on it (punchcard_kit.access)."""

import uuid

import pytest
from punchcard_kit.access import Forbidden, require_role, require_site, require_writer_of_site
from punchcard_kit.http_errors import status_of
from punchcard_kit.internal_auth import Caller


def caller(role: str, sites: tuple[str, ...] = ()) -> Caller:
    return Caller(tenant_id=str(uuid.uuid4()), user_id="u1", role=role, sites=sites)


def test_a_sysadmin_acts_on_every_site_a_manager_on_their_own():
    assert caller("sysadmin").site_scope() is None
    assert caller("sysadmin").may_act_on_site("B")
    manager = caller("manager", ("A", "C"))
    assert manager.site_scope() == ("A", "C")
    assert manager.may_act_on_site("A") and manager.may_act_on_site("C")
    assert not manager.may_act_on_site("B")
    assert not manager.may_act_on_site("") and not manager.may_act_on_site(None)


def test_a_manager_without_sites_and_a_clock_act_on_none():
    assert not caller("manager").may_act_on_site("A")
    assert caller("clock", ("A",)).site_scope() == ()
    assert not caller("clock", ("A",)).may_act_on_site("A")


def test_a_viewer_reads_every_site_but_never_writes():
    viewer = caller("viewer")
    assert viewer.may_act_on_site("B")
    with pytest.raises(Forbidden) as refused:
        require_writer_of_site(viewer, "B")
    assert status_of(refused.value) == 403 and refused.value.code == "FORBIDDEN"


def test_require_site_and_role_raise_the_error_shape():
    manager = caller("manager", ("A",))
    require_site(manager, "A")
    require_writer_of_site(manager, "A")
    with pytest.raises(Forbidden) as refused:
        require_site(manager, "B", "site_id")
    assert refused.value.body() == {
        "code": "SITE_NOT_MANAGED",
        "message": "this is at a site you do not manage",
        "field": "site_id",
    }
    require_role(caller("sysadmin"), "sysadmin")
    with pytest.raises(Forbidden):
        require_role(manager, "sysadmin")
