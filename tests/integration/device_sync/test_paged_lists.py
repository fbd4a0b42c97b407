"""The clocks list and a clock's roster are paged (``offset``, ``limit`` → ``{data, count}``):
pages in name order cover the list once, ``count`` is the whole list's (of the caller's sites),
and a page out of bounds is a 422 naming its field."""

import pytest

from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for
from tests.support.stack import unique


async def _pages(client, path: str, limit: int, **params) -> tuple[list[dict], set[int]]:
    """Every item, page by page, and the counts the pages gave."""
    items, counts, offset = [], set(), 0
    while True:
        response = await client.get(path, params={**params, "offset": offset, "limit": limit})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= limit
        items += body["data"]
        counts.add(body["count"])
        offset += limit
        if offset >= body["count"]:
            return items, counts


async def test_the_clocks_are_listed_a_page_at_a_time_by_name(identity, devices):
    tenant = await new_tenant(identity, devices)
    at_a = [c for c, _ in await tenant.clocks(3, site_id="site-a")]
    at_b = [c for c, _ in await tenant.clocks(2, site_id="site-b")]

    every = (await tenant.devices.get("/clocks")).json()
    assert every["count"] == 5 and len(every["data"]) == 5
    assert [c["name"] for c in every["data"]] == sorted(c["name"] for c in every["data"])

    paged, counts = await _pages(tenant.devices, "/clocks", limit=2)
    assert [c["id"] for c in paged] == [c["id"] for c in every["data"]]
    assert counts == {5}
    assert set(at_a + at_b) == {c["id"] for c in paged}

    at_site, counts = await _pages(tenant.devices, "/clocks", limit=2, site_id="site-b")
    assert sorted(c["id"] for c in at_site) == sorted(at_b) and counts == {2}
    beyond = (await tenant.devices.get("/clocks", params={"offset": 5})).json()
    assert beyond == {"data": [], "count": 5}

    async with devices.admin(tenant.id, role="manager", sites=("site-a",)) as manager:
        mine, counts = await _pages(manager, "/clocks", limit=2)
        assert sorted(c["id"] for c in mine) == sorted(at_a) and counts == {3}
        other = (await manager.get("/clocks", params={"site_id": "site-b"})).json()
        assert other == {"data": [], "count": 0}


async def test_the_clocks_list_searches_and_answers_for_the_clocks_asked_about(identity, devices):
    """``search``: the name or the serial number contains it (literally, in any case);
    ``clock_id`` (repeated): those clocks only, as the caller may see them."""
    tenant = await new_tenant(identity, devices)
    other = await new_tenant(identity, devices)
    at_a = [c for c, _ in await tenant.clocks(3, site_id="site-a")]
    at_b = [c for c, _ in await tenant.clocks(2, site_id="site-b")]
    ((theirs, _),) = await other.clocks(1)
    every = {c["id"]: c for c in (await tenant.devices.get("/clocks")).json()["data"]}
    one = every[at_a[1]]

    for text in (one["name"].upper(), one["serial_number"].lower()):
        found = (await tenant.devices.get("/clocks", params={"search": text})).json()
        assert [c["id"] for c in found["data"]] == [one["id"]] and found["count"] == 1
    nothing = (await tenant.devices.get("/clocks", params={"search": "%"})).json()
    assert nothing == {"data": [], "count": 0}  # "%" is a character, not a wildcard
    renamed = await tenant.devices.patch(f"/clocks/{at_b[0]}", json={"name": "Éclair Bakery"})
    assert renamed.status_code == 200, renamed.text
    for text in ("Éclair", "éclair", "ÉCLAIR BAKERY"):  # every script's case, not only A-Z
        found = (await tenant.devices.get("/clocks", params={"search": text})).json()
        assert [c["id"] for c in found["data"]] == [at_b[0]], text

    asked = [at_a[0], at_b[1].upper(), theirs]
    answer = (await tenant.devices.get("/clocks", params={"clock_id": asked})).json()
    assert {c["id"] for c in answer["data"]} == {at_a[0], at_b[1]} and answer["count"] == 2
    page = (await tenant.devices.get("/clocks", params={"clock_id": asked, "limit": 1})).json()
    assert len(page["data"]) == 1 and page["count"] == 2
    async with devices.admin(tenant.id, role="manager", sites=("site-a",)) as manager:
        mine = (await manager.get("/clocks", params={"clock_id": asked})).json()
        assert [c["id"] for c in mine["data"]] == [at_a[0]] and mine["count"] == 1

    for params, field in (
        ({"clock_id": [at_a[0], "door-7"]}, "clock_id.1"),
        ({"clock_id": [at_a[0]] * 501}, "clock_id"),
        ({"search": "x" * 101}, "search"),
    ):
        refused = await tenant.devices.get("/clocks", params=params)
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


async def test_a_clocks_roster_is_listed_a_page_at_a_time_by_name(identity, devices):
    tenant = await new_tenant(identity, devices)
    ((clock, _),) = await tenant.clocks(1)
    names = ["Eva", "Ana", "Dora", "Carl", "Bea"]
    workers = [await tenant.worker(name) for name in names]
    await tenant.assign([(clock, w["id"]) for w in workers])

    roster, counts = await _pages(tenant.devices, f"/clocks/{clock}/workers", limit=2)
    assert [w["display_name"] for w in roster] == sorted(names)
    assert counts == {5}
    listed = (await tenant.devices.get("/clocks")).json()["data"]
    assert [c["roster_size"] for c in listed] == [5]
    page = (await tenant.devices.get(f"/clocks/{clock}/workers", params={"limit": 1})).json()
    assert [w["display_name"] for w in page["data"]] == ["Ana"] and page["count"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
    ],
)
async def test_a_page_out_of_bounds_is_refused_naming_its_field(identity, devices, params, field):
    tenant = await new_tenant(identity, devices)
    ((clock, _),) = await tenant.clocks(1)
    for path in ("/clocks", f"/clocks/{clock}/workers"):
        response = await tenant.devices.get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field


NAMES = ["Zoë", "Åsa", "anna", "Émile", "Bob", "Anna", "emile", "Ørsted", "Oscar"]
# ICU's root collation (punchcard_kit.db.ordered): accents and case only break ties. The C
# locale's bytes put "Åsa", "Émile" and "Ørsted" after "Zoë".
BY_NAME = ["anna", "Anna", "Åsa", "Bob", "emile", "Émile", "Ørsted", "Oscar", "Zoë"]


async def test_the_lists_sort_names_as_people_read_them_in_any_script(identity, devices):
    """The clocks list, a clock's roster, a worker's clocks and the clocks they were taken off,
    each by name in ICU's order, a page at a time where the list is paged."""
    tenant = await new_tenant(identity, devices)
    clocks = {}
    for name in NAMES:
        response = await tenant.devices.post(
            "/clocks",
            json={
                "serial_number": unique("SN"),
                "name": f"{name} Gate",
                "site_id": "site-a",
                "time_zone": "Europe/Madrid",
            },
        )
        assert response.status_code == 201, response.text
        clocks[name] = response.json()["id"]
    listed, counts = await _pages(tenant.devices, "/clocks", limit=2)
    assert [c["name"] for c in listed] == [f"{n} Gate" for n in BY_NAME] and counts == {9}
    async with devices.admin(tenant.id, role="manager", sites=("site-a",)) as manager:
        mine, _ = await _pages(manager, "/clocks", limit=4)
        assert [c["name"] for c in mine] == [f"{n} Gate" for n in BY_NAME]

    workers = {name: await tenant.worker(name) for name in NAMES}
    gate = clocks["Bob"]
    await tenant.assign([(gate, w["id"]) for w in workers.values()])
    roster, counts = await _pages(tenant.devices, f"/clocks/{gate}/workers", limit=2)
    assert [w["display_name"] for w in roster] == BY_NAME and counts == {9}

    bob = workers["Bob"]["id"]
    await tenant.assign([(c, bob) for c in clocks.values()])
    body = (await tenant.devices.get(f"/workers/{bob}/clocks")).json()
    assert [c["name"] for c in body["data"]] == [f"{n} Gate" for n in BY_NAME]

    # Taken off every clock but Bob Gate: the removals, by name too.
    await tenant.assign([], unassign=[(c, bob) for c in clocks.values() if c != gate])

    async def removed():
        body = (await tenant.devices.get(f"/workers/{bob}/clocks")).json()
        return body["removed"] if len(body["removed"]) == len(NAMES) - 1 else None

    taken_off = await wait_for(removed, timeout=30, what="the removals queued")
    assert [c["name"] for c in taken_off] == [f"{n} Gate" for n in BY_NAME if n != "Bob"]
