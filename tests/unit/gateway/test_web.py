"""How the gateway serves the built web apps (entrypoints/web.py): every portal route gets the
portal's page, with its security headers and never cached; assets are cached for good; the
kiosk API is not shadowed by the kiosk page; an unbuilt checkout says how to build."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from punchcard_gateway.entrypoints import web


def app_with(dist) -> TestClient:
    app = FastAPI()

    @app.get("/kiosk/v1/whoami")
    def whoami() -> dict:
        return {"api": True}

    web.mount(app, dist)
    return TestClient(app, follow_redirects=False)


def built(tmp_path):
    for page in ("manage", "kiosk"):
        (tmp_path / page).mkdir()
        (tmp_path / page / "index.html").write_text(f"<!doctype html><title>{page}</title>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "manage-abc123.js").write_text("console.log(1);\n" * 200)
    return tmp_path


def test_every_portal_route_is_the_portal_page_with_its_headers(tmp_path):
    client = app_with(built(tmp_path))
    for path in ("/manage", "/manage/", "/manage/workers/123/edit"):
        response = client.get(path)
        assert response.status_code == 200
        assert "<title>manage</title>" in response.text
        assert response.headers["cache-control"] == "no-cache"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "camera=(self)" in client.get("/kiosk/").headers["permissions-policy"]
    assert "<title>kiosk</title>" in client.get("/kiosk/").text


def test_only_the_kiosk_page_is_cross_origin_isolated_and_may_start_blob_workers(tmp_path):
    """WebAssembly threads for the kiosk's face models need SharedArrayBuffer, which a browser
    gives only a cross-origin isolated page; TensorFlow.js starts them as workers from blob:
    URLs, which load its script from a blob: URL (importScripts: script-src)."""
    client = app_with(built(tmp_path))
    kiosk = client.get("/kiosk/").headers
    assert kiosk["cross-origin-opener-policy"] == "same-origin"
    assert kiosk["cross-origin-embedder-policy"] == "require-corp"
    kiosk_csp = kiosk["content-security-policy"].split("; ")
    assert "worker-src 'self' blob:" in kiosk_csp
    assert "script-src 'self' 'wasm-unsafe-eval' blob:" in kiosk_csp
    manage = client.get("/manage/").headers
    assert "cross-origin-embedder-policy" not in manage
    manage_csp = manage["content-security-policy"].split("; ")
    assert "script-src 'self' 'wasm-unsafe-eval'" in manage_csp
    assert not any(d.startswith("worker-src") for d in manage_csp)
    # Nothing else differs between the two policies.
    assert set(kiosk_csp) - set(manage_csp) == {
        "worker-src 'self' blob:",
        "script-src 'self' 'wasm-unsafe-eval' blob:",
    }
    assert set(manage_csp) - set(kiosk_csp) == {"script-src 'self' 'wasm-unsafe-eval'"}


def test_root_redirects_to_the_portal(tmp_path):
    response = app_with(built(tmp_path)).get("/")
    assert response.status_code == 307 and response.headers["location"] == "/manage/"


def test_assets_are_immutable_and_a_missing_one_is_404(tmp_path):
    client = app_with(built(tmp_path))
    asset = client.get("/assets/manage-abc123.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "gzip"  # asked by the test client
    assert asset.text == "console.log(1);\n" * 200
    assert client.get("/assets/nothing.js").status_code == 404


def test_the_kiosk_api_is_not_shadowed_by_the_kiosk_page(tmp_path):
    client = app_with(built(tmp_path))
    assert client.get("/kiosk/v1/whoami").json() == {"api": True}
    assert client.get("/kiosk/v1/nothing").status_code == 404


def test_an_unbuilt_checkout_says_how_to_build(tmp_path):
    client = app_with(tmp_path / "missing")
    page = client.get("/manage/workers")
    assert page.status_code == 503 and "make web" in page.text
    assert client.get("/assets/manage-abc123.js").status_code == 404
