"""The bootstrap command: ``punchcard-gateway create-tenant`` prints the new ids as JSON, and
the admin it made can log in. One run through the installed script; the other cases call the
same ``main()`` in a thread (each process start costs seconds of imports)."""

import asyncio
import json
import os
import subprocess

import pytest
from punchcard_gateway.main import main

from tests.support.stack import VENV_BIN, unique

from .conftest import ADMIN_SECRET, INTERNAL_PRIVATE_KEY


def _env(dsn: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": dsn,
        "ADMIN_JWT_SECRET": ADMIN_SECRET,
        "INTERNAL_TOKEN_PRIVATE_KEY": INTERNAL_PRIVATE_KEY,
        "LOG_JSON": "false",
    }


async def test_create_tenant_prints_ids_and_the_admin_can_log_in(gateway):
    email = f"{unique('boot')}@Example.com"
    done = subprocess.run(
        [
            str(VENV_BIN / "punchcard-gateway"),
            "create-tenant",
            "--name",
            "Bootstrap Co",
            "--admin-email",
            email,
            "--admin-password",
            "bootstrap password 42",
        ],
        env={**os.environ, **_env(gateway.dsn)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)
    assert set(ids) == {"tenant_id", "admin_id"}
    assert "bootstrap password 42" not in done.stderr

    tokens = await gateway.login(email.lower(), "bootstrap password 42")
    me = await gateway.http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["tenant_id"] == ids["tenant_id"] and me.json()["id"] == ids["admin_id"]
    assert me.json()["role"] == "sysadmin"


async def test_create_tenant_takes_the_password_from_the_environment_and_refuses_bad_input(
    gateway, monkeypatch, capsys
):
    for name, value in _env(gateway.dsn).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PUNCHCARD_ADMIN_PASSWORD", "password from the environment")
    email = f"{unique('env')}@example.com"
    create = ["create-tenant", "--name", "Env Co", "--admin-email", email]

    await asyncio.to_thread(main, create)
    ids = json.loads(capsys.readouterr().out)
    assert set(ids) == {"tenant_id", "admin_id"}
    await gateway.login(email, "password from the environment")

    with pytest.raises(SystemExit) as duplicate:
        await asyncio.to_thread(main, create)
    assert duplicate.value.code == 1
    assert "already exists" in capsys.readouterr().err

    bad = ["create-tenant", "--name", "Bad", "--admin-email", "nope", "--admin-password", "short"]
    with pytest.raises(SystemExit) as invalid:
        main(bad)
    assert invalid.value.code == 2
    err = capsys.readouterr().err
    assert "--admin-email" in err and "--admin-password" in err and "short" not in err
