"""The two web apps the gateway serves, built by Vite into ``web/dist`` (docs/web.md):

- ``/manage/…`` the manage portal (every path under it is the portal's own route, so a reload
  or a bookmark of ``/manage/workers/…`` gets the app);
- ``/kiosk/`` the kiosk app (``/kiosk/v1/…`` stays the kiosk API);
- ``/assets/…`` their content-hashed scripts and styles, gzip-compressed, cached for a year.

The HTML pages are never cached (a tablet gets a new release on its next load) and carry a
strict Content-Security-Policy: scripts, styles and connections only from this origin; the
camera only for this origin. The kiosk's page is cross-origin isolated (COOP and COEP): its face
models then run on WebAssembly threads where the tablet has the cores (docs/kiosk-app.md), and
those threads start as workers from blob: URLs, which its policy allows. Where the apps were not
built, the pages say how to build them."""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


def content_security_policy(*, blob_workers: bool = False) -> str:
    """The pages' policy. ``blob_workers``: the kiosk's, whose TensorFlow.js starts its
    WebAssembly threads as workers from blob: URLs, each loading the kernels' script from a
    blob: URL too (a blob: URL is only made by a script already running on this origin)."""
    blob = " blob:" if blob_workers else ""
    return "; ".join(
        (
            "default-src 'self'",
            # WebAssembly (the kiosk's face models on a tablet without a GPU) compiles; no eval.
            f"script-src 'self' 'wasm-unsafe-eval'{blob}",
            *((f"worker-src 'self'{blob}",) if blob_workers else ()),
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


PAGE_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}
# The kiosk: cross-origin isolated, so that SharedArrayBuffer (WebAssembly threads) exists.
# Every resource the kiosk loads is this origin's, which COEP's require-corp takes as it is.
KIOSK_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": content_security_policy(blob_workers=True),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Punchcard</title>
<h1>The web apps are not built</h1><p>Run <code>make web</code> (or <code>make run</code>),
then reload this page.</p></html>"""


class ImmutableAssets(StaticFiles):
    """Vite names every asset by its content hash: a file never changes under its name."""

    async def check_config(self) -> None:
        # Not built yet: every asset is a 404 (Starlette would answer 500).
        if self.directory is not None and await anyio.Path(self.directory).is_dir():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _page(dist: Path, app: str, headers: dict[str, str]) -> Response:
    index = dist / app / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return HTMLResponse(index.read_bytes(), headers=headers)


def mount(app: FastAPI, dist: Path | None) -> None:
    """Adds the pages' routes and the assets mount (after every API route)."""
    dist = (dist or DEFAULT_DIST).resolve()
    router = APIRouter(include_in_schema=False)

    # Plain functions: FastAPI runs them in its thread pool (they read a file).
    @router.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/manage/", status_code=307)

    @router.get("/manage")
    @router.get("/manage/{route:path}")
    def manage(route: str = "") -> Response:
        return _page(dist, "manage", PAGE_HEADERS)

    @router.get("/kiosk")
    @router.get("/kiosk/")
    def kiosk() -> Response:
        return _page(dist, "kiosk", KIOSK_HEADERS)

    app.include_router(router)
    # Compressed here (scripts shrink to a third); an ingress that compresses too is harmless.
    assets = ImmutableAssets(directory=dist / "assets", check_dir=False)
    app.mount("/assets", GZipMiddleware(assets, minimum_size=1024), "assets")
