"""face-match checks roles and sites itself (the kit's one rule): a manager enrols, reads and
deletes the faces of their sites' workers only; nobody enrols a face that is already another
worker's (an admin's own face enrolled as someone else)."""

from tests.support.face import astronaut
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.messaging import wait_for


async def test_a_manager_changes_faces_only_within_their_sites(feed, face_match):
    tenant = feed.tenant_id
    mine = await feed.worker("Ada Site-A", site_id="site-a")
    theirs = await feed.worker("Ben Site-B", site_id="site-b")
    for worker in (mine, theirs):
        await known_worker(face_match, tenant, worker["id"])

    other = await enrol(
        face_match, tenant, theirs["id"], astronaut(), role="manager", sites=("site-a",)
    )
    assert other.status_code == 403, other.text
    assert other.json() == {
        "code": "SITE_NOT_MANAGED",
        "message": "this is at a site you do not manage",
        "field": "worker_id",
    }
    async with face_match.admin(tenant, role="manager", sites=("site-a",)) as http:
        assert (await http.get(f"/workers/{theirs['id']}/face")).status_code == 404
        assert (await http.delete(f"/workers/{theirs['id']}/face")).status_code == 403

    ok = await enrol(face_match, tenant, mine["id"], astronaut(), role="manager", sites=("site-a",))
    assert ok.status_code == 200, ok.text
    async with face_match.admin(tenant, role="manager", sites=("site-b",)) as http:
        assert (await http.get("/face/enrolments")).json() == {"items": [], "next_cursor": None}
    async with face_match.admin(tenant, role="manager", sites=("site-a",)) as http:
        page = (await http.get("/face/enrolments", params={"limit": 1})).json()
        assert [i["worker_id"] for i in page["items"]] == [mine["id"]]
        assert page["next_cursor"] is None  # the last page
        after = await http.get("/face/enrolments", params={"cursor": mine["id"]})
        assert after.json() == {"items": [], "next_cursor": None}
        # Of given workers (a page of the workers list): the enrolled ones among them.
        asked = {"worker_id": [theirs["id"], mine["id"].upper()]}
        of_workers = (await http.get("/face/enrolments", params=asked)).json()
        assert [i["worker_id"] for i in of_workers["items"]] == [mine["id"]]
        none = await http.get("/face/enrolments", params={"worker_id": theirs["id"]})
        assert none.json() == {"items": [], "next_cursor": None}
        too_many = {"worker_id": [mine["id"]] * 501}
        for bad in (
            {"limit": 0},
            {"limit": 501},
            {"cursor": "not-a-worker"},
            too_many,
            {"worker_id": "x"},
        ):
            answer = await http.get("/face/enrolments", params=bad)
            assert answer.status_code == 422, answer.text
            # A bad item is named by its place: worker_id.0
            assert answer.json()["field"].split(".")[0] == next(iter(bad)), answer.text
    async with face_match.admin(tenant, role="viewer") as http:
        assert (await http.delete(f"/workers/{mine['id']}/face")).status_code == 403
        assert (await http.get(f"/workers/{mine['id']}/face")).json()["enrolled"]


async def test_a_face_enrolled_for_one_worker_cannot_be_enrolled_for_another(feed, face_match):
    tenant = feed.tenant_id
    first = await feed.worker("Ada", site_id="site-a")
    second = await feed.worker("Not Ada", site_id="site-a")
    for worker in (first, second):
        await known_worker(face_match, tenant, worker["id"])
    assert (await enrol(face_match, tenant, first["id"], astronaut())).status_code == 200
    await searchable(face_match, tenant, first["id"])

    again = await enrol(face_match, tenant, second["id"], astronaut(560))
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "FACE_ENROLLED_AS_OTHER"
    assert again.json()["field"] == "photos"
    async with face_match.admin(tenant) as http:
        assert not (await http.get(f"/workers/{second['id']}/face")).json()["enrolled"]
    # Re-enrolling the same worker's own face is fine.
    assert (await enrol(face_match, tenant, first["id"], astronaut(560))).status_code == 200


async def test_a_sysadmin_confirms_twins_and_both_are_verified_1_to_1(feed, face_match):
    tenant = feed.tenant_id
    first = await feed.worker("Ada", site_id="site-a")
    twin = await feed.worker("Ada's twin", site_id="site-a")
    for worker in (first, twin):
        await known_worker(face_match, tenant, worker["id"])
    assert (await enrol(face_match, tenant, first["id"], astronaut())).status_code == 200
    before = await searchable(face_match, tenant, first["id"])
    assert before["verify_one_to_one"] is False

    refused = await enrol(face_match, tenant, twin["id"], astronaut(560))
    assert refused.status_code == 409 and refused.json()["confirmable"] is True, refused.text
    assert "twins" in refused.json()["message"]
    by_manager = await enrol(
        face_match,
        tenant,
        twin["id"],
        astronaut(560),
        role="manager",
        sites=("site-a",),
        confirm_lookalike=True,
    )
    assert by_manager.status_code == 409 and by_manager.json()["confirmable"] is False

    confirmed = await enrol(face_match, tenant, twin["id"], astronaut(560), confirm_lookalike=True)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["verify_one_to_one"] is True
    # The twin enrolled first is marked too, in a new revision every replica follows.
    async with face_match.admin(tenant) as http:

        async def marked():
            status = (await http.get(f"/workers/{first['id']}/face")).json()
            return status if status["verify_one_to_one"] and status["in_gallery"] else None

        status = await wait_for(marked, timeout=30, what="the first twin marked 1:1")
    assert status["revision"] == before["revision"] + 1
