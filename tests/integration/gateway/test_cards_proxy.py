"""A worker's badge cards through the gateway: forwarded to identity with the verified caller,
managers may add and delete them, viewers only read, and each change is in the audit log named
by its worker (the card's number is the template's ``{number}``, the body never kept)."""

from .conftest import new_id


async def test_managers_change_cards_viewers_read_and_changes_are_audited(gateway):
    sysadmin = await gateway.new_tenant()
    manager = await gateway.add_user(sysadmin, "manager", site_ids=["north"])
    viewer = await gateway.add_user(sysadmin, "viewer")
    worker = new_id()
    cards = f"/api/v1/workers/{worker}/cards"

    added = await gateway.http.post(
        cards + "?status=201", headers=await gateway.headers(manager), json={"number": "0004471234"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["upstream"] == "identity"
    assert added.json()["path"] == f"/internal/v1/workers/{worker}/cards"
    assert added.json()["caller"]["role"] == "manager"
    deleted = await gateway.http.delete(
        cards + "/0004471234?status=204", headers=await gateway.headers(manager)
    )
    assert deleted.status_code == 204

    viewer_headers = await gateway.headers(viewer)
    assert (await gateway.http.get(cards, headers=viewer_headers)).status_code == 200
    refused = await gateway.http.post(cards, headers=viewer_headers, json={"number": "1"})
    assert refused.status_code == 403
    assert (await gateway.http.delete(cards + "/1", headers=viewer_headers)).status_code == 403

    log = await gateway.http.get("/api/v1/audit-log", headers=await gateway.headers(sysadmin))
    entries = {e["action"]: e for e in log.json()["data"]}
    for action in (
        "POST /api/v1/workers/{id}/cards",
        "DELETE /api/v1/workers/{id}/cards/{number}",
    ):
        assert entries[action]["target_id"] == worker
        assert entries[action]["actor_id"] == manager.user_id
    assert "0004471234" not in log.text
