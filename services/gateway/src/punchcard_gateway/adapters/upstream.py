"""The internal APIs of the services the gateway forwards to (identity, device-sync, punch), all
reached with one shared httpx client. Each forwarded call carries a fresh internal caller token
(punchcard_kit.internal_auth) naming the admin, their tenant, role and sites, their IP and the
request id; the services trust only that token. The kiosk edge makes calls of its own through
``call`` (adapters/kiosk.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from punchcard_kit.internal_auth import Caller, audience_of, mint_internal_token
from punchcard_kit.logging import get_logger

log = get_logger(__name__)


class UpstreamUnavailable(Exception):
    """The service could not be reached (connection refused, timeout, …)."""

    def __init__(self, upstream: str, error: str) -> None:
        super().__init__(f"{upstream}: {error}")
        self.upstream = upstream


@dataclass(frozen=True)
class Upstream:
    # The service's name ("identity", "device-sync"): in the 503 message and the log line.
    name: str
    client: httpx.AsyncClient
    base_url: str
    # The gateway's private key (INTERNAL_TOKEN_PRIVATE_KEY): signs the caller tokens, each for
    # this one service (audience "punchcard-<name>").
    signing_key: Ed25519PrivateKey

    def internal_token(self, caller: Caller) -> str:
        """A 60-second token naming ``caller``, valid at this service only."""
        return mint_internal_token(caller, self.signing_key, audience_of(self.name))

    @property
    def unavailable_message(self) -> str:
        return f"the {self.name} service is unavailable; try again"

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        content: bytes | AsyncIterator[bytes] | None = None,
        timeout: float | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        """One request to ``path`` (with its query) on the service, with the headers the caller
        chose (a clock's credential, an internal token): UpstreamUnavailable when the service
        cannot be reached. Only the method, path and error type are logged, never a body."""
        url = self.base_url.rstrip("/") + path
        try:
            return await self.client.request(
                method,
                url,
                content=content,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as error:
            log.warning(
                f"{self.name} unavailable",
                upstream=self.name,
                base_url=self.base_url,
                method=method,
                path=path.partition("?")[0],
                error=type(error).__name__,
                request_id=request_id,
            )
            raise UpstreamUnavailable(self.name, type(error).__name__) from None

    async def forward(
        self,
        method: str,
        segments: tuple[str, ...],
        query: str,
        body: bytes | AsyncIterator[bytes],
        content_type: str | None,
        caller: Caller,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``segments`` is the admin path after ``api/v1`` (already checked: no empty, ``.``
        or ``..`` segment); it becomes ``/internal/v1/…`` on the service. Neither the request
        body (PINs travel in it) nor the response body (clock credentials do) is ever logged.
        ``body``: bytes, or the chunks of an upload streamed as they arrive."""
        path = "/internal/v1/" + "/".join(quote(s, safe="") for s in segments)
        headers: dict[str, str | bytes] = {
            "authorization": "Bearer " + self.internal_token(caller),
            "x-request-id": caller.request_id,
            "accept": "application/json",
        }
        if idempotency_key is not None:
            # A correction's name, passed on byte for byte (punch checks it): Starlette read the
            # header as latin-1, and httpx would refuse a str that is not ASCII.
            headers["idempotency-key"] = idempotency_key.encode("latin-1")
        streamed = not isinstance(body, bytes)
        if streamed or body:
            headers["content-type"] = content_type or "application/json"
        return await self.call(
            method,
            path + (f"?{query}" if query else ""),
            headers=headers,
            content=body if streamed else (body or None),
            request_id=caller.request_id,
        )
