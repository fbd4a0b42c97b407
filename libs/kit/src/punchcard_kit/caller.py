"""Who is calling: the admin (or clock) an internal token names (``internal_auth``). Pure — no
FastAPI, no crypto — so domain and service layers may take a Caller and apply its rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    role: str
    sites: tuple[str, ...] = ()
    ip: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def can(self, *roles: str) -> bool:
        return self.role in roles

    def site_scope(self) -> tuple[str, ...] | None:
        """The one site-scoping rule, applied by every service that owns data: the sites this
        caller may act on — None for every site of the tenant (a sysadmin; a viewer, who only
        reads), a manager's own sites, and none at all for any other caller (a clock)."""
        if self.role in ("sysadmin", "viewer"):
            return None
        return self.sites if self.role == "manager" else ()

    def may_act_on_site(self, site_id: str | None) -> bool:
        """Whether the caller may see or act on what belongs to ``site_id`` (a worker, a clock,
        a punch); an unknown site (None or empty) only for a caller of every site."""
        scope = self.site_scope()
        return scope is None or (bool(site_id) and site_id in scope)


__all__ = ["Caller"]
