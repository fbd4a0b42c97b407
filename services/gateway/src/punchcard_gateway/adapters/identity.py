"""The identity service's internal API, reached with one shared httpx client. Each call
carries a fresh internal caller token (punchcard_kit.internal_auth) naming the admin, their
tenant, role and sites, their IP and the request id; identity trusts only that token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
from punchcard_kit.internal_auth import Caller, mint_internal_token
from punchcard_kit.logging import get_logger

log = get_logger(__name__)


class UpstreamUnavailable(Exception):
    pass


@dataclass(frozen=True)
class IdentityUpstream:
    client: httpx.AsyncClient
    base_url: str
    internal_secret: str

    async def forward(
        self,
        method: str,
        segments: tuple[str, ...],
        query: str,
        body: bytes,
        content_type: str | None,
        caller: Caller,
    ) -> httpx.Response:
        """``segments`` is the admin path after ``api/v1`` (already checked: no empty, ``.``
        or ``..`` segment); it becomes ``/internal/v1/…`` on identity. The body is passed as
        is and never logged (PINs travel in it)."""
        path = "/internal/v1/" + "/".join(quote(s, safe="") for s in segments)
        url = self.base_url.rstrip("/") + path + (f"?{query}" if query else "")
        headers = {
            "authorization": "Bearer " + mint_internal_token(caller, self.internal_secret),
            "x-request-id": caller.request_id,
            "accept": "application/json",
        }
        if body:
            headers["content-type"] = content_type or "application/json"
        try:
            return await self.client.request(method, url, content=body or None, headers=headers)
        except httpx.TransportError as error:
            log.warning(
                "identity unavailable; answering 503",
                upstream=self.base_url,
                method=method,
                path=path,
                error=type(error).__name__,
                request_id=caller.request_id,
            )
            raise UpstreamUnavailable(type(error).__name__) from None
