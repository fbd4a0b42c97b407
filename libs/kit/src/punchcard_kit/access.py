"""Role and site checks in the service layer of every service that owns data, as domain errors
(``punchcard_kit.errors.Forbidden``, 403 with the one error shape). The rule itself is the Caller's
(``Caller.site_scope`` / ``Caller.may_act_on_site``): a sysadmin acts on every site, a manager
only on their own sites, a viewer reads but never writes."""

from __future__ import annotations

from .caller import Caller
from .errors import Forbidden

#: Admins who may change data (a viewer only reads).
WRITERS = ("sysadmin", "manager")


def require_role(caller: Caller, *roles: str) -> None:
    """403 FORBIDDEN unless the caller has one of ``roles``."""
    if not caller.can(*roles):
        raise Forbidden("your role does not allow this")


def require_site(caller: Caller, site_id: str | None, field: str | None = None) -> None:
    """403 SITE_NOT_MANAGED unless the caller may act on ``site_id`` (see
    ``Caller.may_act_on_site``)."""
    if not caller.may_act_on_site(site_id):
        raise Forbidden("this is at a site you do not manage", field, code="SITE_NOT_MANAGED")


def require_writer_of_site(caller: Caller, site_id: str | None, field: str | None = None) -> None:
    """A change to what belongs to ``site_id``: a sysadmin, or a manager of that site."""
    require_role(caller, *WRITERS)
    require_site(caller, site_id, field)


__all__ = ["WRITERS", "Forbidden", "require_role", "require_site", "require_writer_of_site"]
