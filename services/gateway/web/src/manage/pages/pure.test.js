// The portal's pure parts: CSV, the punches query and CSV rows, the clock pages' rules, URLs.
import { describe, expect, it } from "vitest";
import { toCsv } from "../csv.js";
import { addedNotice, commandState, findByEmployeeId, namesById, sourcesText, workerStatusTone } from "./clocks/rules.js";
import { idsToAsk, loadClocksById, loadWorkersById, withQuery } from "./common.jsx";
import { correctionKey, csvOf, punchesOfDayHref, query } from "./punches/query.js";
import { choices, narrowHint } from "./pickers.jsx";

describe("CSV", () => {
  it("quotes what needs it and never writes a formula", () => {
    expect(toCsv(["a", "b"], [["x,y", 'say "hi"'], ["=SUM(A1)", null], ["-3", 4]])).toBe(
      'a,b\r\n"x,y","say ""hi"""\r\n\'=SUM(A1),\r\n\'-3,4\r\n',
    );
  });
});

describe("punches", () => {
  it("asks for the whole 'to' day, from local midnight to the next", () => {
    const q = query({ worker_id: "w", clock_id: "", site_id: "", from: "2026-01-12", to: "2026-01-13" }, "c1");
    expect(q).toMatchObject({ worker_id: "w", limit: 100, cursor: "c1" });
    expect(new Date(q.from).getTime()).toBe(new Date(2026, 0, 12).getTime());
    expect(new Date(q.to).getTime()).toBe(new Date(2026, 0, 14).getTime());
    expect(query({ from: "", to: "" }, undefined, 1000)).toMatchObject({ from: undefined, to: undefined, limit: 1000 });
  });

  it("a report's 'Punches that day' link asks for a day that holds the punch", () => {
    // 00:30 in Madrid is still the day before in UTC and in the Americas: the link's day is
    // the browser's, as the Punches page reads it, not the clock's.
    for (const punchedAt of ["2026-12-03T23:30:00Z", "2026-12-04T00:00:00Z", "2026-07-01T12:00:00Z"]) {
      const href = punchesOfDayHref("w 1", punchedAt);
      const params = new URL(href, "https://portal.example").searchParams;
      expect(params.get("worker_id")).toBe("w 1");
      const q = query({ from: params.get("from"), to: params.get("to") });
      const at = new Date(punchedAt).getTime();
      expect(new Date(q.from).getTime()).toBeLessThanOrEqual(at);
      expect(new Date(q.to).getTime()).toBeGreaterThan(at);
    }
  });

  it("one CSV row per punch, the clock by name", () => {
    const text = csvOf(
      [{ id: "p1", worker_id: "w1", employee_id: "E-1", display_name: "Ana", direction: "IN", local_time: "t", time_zone: "UTC",
        punched_at: "u", method: "FACE", face: { distance: 0.2, threshold: 0.4 }, clock_id: "c1", site_id: "s",
        captured_offline: false, needs_review: undefined, kind: "PUNCH", voided: false }],
      { c1: "Front door" },
    );
    const [header, row] = text.split("\r\n");
    expect(header.split(",")).toHaveLength(22);
    expect(row).toBe("p1,w1,E-1,Ana,IN,t,UTC,u,FACE,0.2,0.4,Front door,s,false,false,PUNCH,,,false,,,");
  });

  it("a hardware clock's punch keeps its method and the device's raw VerifyMode and State", () => {
    const text = csvOf(
      [{ id: "p2", worker_id: "w1", employee_id: "E-1", display_name: "Ana", direction: "OUT", local_time: "t", time_zone: "UTC",
        punched_at: "u", method: "FINGERPRINT", face: null, clock_id: "c1", site_id: "s", captured_offline: true,
        needs_review: false, kind: "RECORDED", voided: false, device_verify_mode: 1, device_state: 0 }],
      {},
    );
    const [header, row] = text.split("\r\n").map((line) => line.split(","));
    const cell = Object.fromEntries(header.map((h, i) => [h, row[i]]));
    expect(cell).toMatchObject({ method: "FINGERPRINT", device_verify_mode: "1", device_state: "0", clock: "c1" });
  });

  it("names each correction with a new key the API accepts", () => {
    const counting = { getRandomValues: (a) => a.map((_, i) => i * 17) };
    expect(correctionKey(counting)).toBe("00112233445566778899aabbccddeeff");
    const a = correctionKey();
    expect(a).toMatch(/^[0-9a-f]{32}$/); // punch's Idempotency-Key: 8-64 of [A-Za-z0-9_-]
    expect(correctionKey()).not.toBe(a);
  });
});

describe("a clock's page", () => {
  it("names each command's state", () => {
    expect(commandState({ acked_at: "t", result_code: 0 }, "online")).toEqual(["ok", "Acknowledged"]);
    expect(commandState({ acked_at: "t", result_code: -22 }, "online")).toEqual([
      "danger",
      "Failed (-22: the device does not know this command)",
    ]);
    expect(commandState({ acked_at: "t", result_code: 7 }, "online")).toEqual(["danger", "Failed (7: a code this portal does not know)"]);
    expect(commandState({}, "revoked")).toEqual(["neutral", "Not delivered"]);
    expect(commandState({}, "online")).toEqual(["info", "Sent"]);
    expect(commandState({}, "offline")).toEqual(["warn", "Waiting for the clock"]);
  });

  it("finds a worker by Employee ID, exactly first, else ignoring case", () => {
    const workers = [{ id: "1", employee_id: "ab-1" }, { id: "2", employee_id: "AB-1" }];
    expect(findByEmployeeId(workers, "AB-1").id).toBe("2");
    expect(findByEmployeeId(workers, "Ab-1").id).toBe("1");
    expect(findByEmployeeId(workers, "zz")).toBeNull();
  });

  it("says a worker added was on the clock already when the assignment made nothing new", () => {
    expect(addedNotice("Ana", { assigned: 1, unassigned: 0, commands_queued: 1, roles_changed: 0 })).toBe("Ana may now use this clock.");
    expect(addedNotice("Ana", { assigned: 0, unassigned: 0, commands_queued: 0, roles_changed: 0 })).toBe("Ana was already assigned to this clock.");
  });

  it("how a worker is on the clock, and their names for the commands", () => {
    expect(sourcesText(["direct", "site_rule"])).toBe("assigned, site rule");
    expect(workerStatusTone("Inactive")).toBe("danger");
    expect(workerStatusTone("Pending")).toBe("neutral");
    const names = namesById([{ id: "1", name: "Ana", employee_id: "E-1" }], [{ worker_id: "1", display_name: "Ana P", employee_id: "E-1" }]);
    expect(names["1"].display_name).toBe("Ana P");
  });
});

describe("URLs", () => {
  it("only the values that are set go in the query", () => {
    expect(withQuery("/manage/workers", { q: "ana", status: "", offset: 0 })).toBe("/manage/workers?q=ana");
    expect(withQuery("/manage/audit", { actor: "", offset: 50 })).toBe("/manage/audit?offset=50");
    expect(withQuery("/manage/audit", {})).toBe("/manage/audit");
  });
});

describe("pickers", () => {
  const ana = { id: "a", name: "Ana Pérez", employee_id: "E1" };
  const bea = { id: "b", name: "Bea Ruiz", employee_id: "E2" };
  const label = (w) => `${w.name} (${w.employee_id})`;

  it("offer the chosen item even when the search does not find it", () => {
    expect(choices([bea], ana, "All workers", label)).toEqual([
      ["", "All workers"],
      ["a", "Ana Pérez (E1)"],
      ["b", "Bea Ruiz (E2)"],
    ]);
    expect(choices([ana, bea], ana, "Choose a worker", label).map(([id]) => id)).toEqual(["", "a", "b"]);
    expect(choices([], null, "All clocks", label)).toEqual([["", "All clocks"]]);
  });

  it("say how to narrow only when the list holds more than they show", () => {
    expect(narrowHint(50, 12345, "a name")).toBe("50 of 12,345 shown: type a name to narrow.");
    expect(narrowHint(7, 7, "a name")).toBeUndefined();
  });
});

describe("names of a page's workers and clocks", () => {
  const a = "0a6f2c1e-9a4b-4c1d-8e2f-3b4c5d6e7f80";
  const b = "1b7f3d2e-0b5c-4d2e-9f30-4c5d6e7f8091";

  it("asks about each well-formed id once", () => {
    expect(idsToAsk([a, b, a.toUpperCase(), "", null, "not-an-id", `${a}x`])).toEqual([a, b]);
  });

  it("is one request for the ids, and none for no id", async () => {
    const asked = [];
    const list = async (q) => (asked.push(q.query), { data: [{ id: a, name: "Ana" }], count: 1 });
    expect(await loadWorkersById([a, b, a], list)).toEqual({ [a]: { id: a, name: "Ana" } });
    expect(asked).toEqual([{ worker_id: [a, b], limit: 2 }]);
    expect(await loadWorkersById(["", "bad"], list)).toEqual({});
    expect(asked.length).toBe(1);
  });

  it("asks for many ids a page at a time", async () => {
    const ids = Array.from({ length: 1201 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const asked = [];
    const list = async (q) => (asked.push(q.query), { data: q.query.clock_id.map((id) => ({ id })), count: q.query.clock_id.length });
    const found = await loadClocksById(ids, list);
    expect(Object.keys(found).length).toBe(1201);
    expect(asked.map((q) => [q.clock_id.length, q.limit])).toEqual([
      [500, 500],
      [500, 500],
      [201, 201],
    ]);
  });
});
