import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { openDb } from "./db.js";
import { rosterDigest } from "./digest.js";
import { offlineCardCheck, offlinePinCheck, Roster } from "./roster.js";

const ana = { worker_id: "w1", employee_id: "E100", display_name: "Ana Pérez", status: "Active",
  allowed_methods: ["FACE", "PIN"], pin_set: true };
const bo = { worker_id: "w2", employee_id: "E101", display_name: "Bo", status: "Active",
  allowed_methods: ["FACE"], pin_set: false };
const cid = (n) => `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;
const upsert = (sequence, worker) => ({ command_id: cid(sequence), sequence, kind: "UPSERT_WORKER", worker });
const remove = (sequence, worker_id) => ({ command_id: cid(sequence), sequence, kind: "REMOVE_WORKER", worker: { worker_id } });
const resync = (sequence) => ({ command_id: cid(sequence), sequence, kind: "FULL_RESYNC", reason: "digest" });

let db;
beforeEach(async () => {
  db = await openDb(new IDBFactory());
});

describe("the roster", () => {
  it("applies commands in sequence order, acks each, and keeps it all in IndexedDB", async () => {
    const roster = await Roster.load(db);
    expect(roster.known).toBe(false);
    expect(await roster.digest()).toBe(await rosterDigest([]));
    await roster.applyAnswer({ clock_id: "c1", last_sequence: 3,
      commands: [upsert(3, bo), upsert(1, ana), remove(2, "w-not-there")] });
    expect(roster.appliedSequence).toBe(3);
    expect(roster.byEmployeeId("E100")).toEqual(ana);
    expect(roster.size).toBe(2);
    expect(roster.pendingAcks.map((a) => [a.sequence, a.result_code])).toEqual([[1, 0], [2, 0], [3, 0]]);
    expect(await roster.digest()).toBe(await rosterDigest([ana, bo]));

    const again = await Roster.load(db);
    expect(again.appliedSequence).toBe(3);
    expect(again.known).toBe(true);
    expect(again.clockId).toBe("c1");
    expect(again.pendingAcks).toHaveLength(3);
    expect(await again.digest()).toBe(await rosterDigest([ana, bo]));
  });

  it("skips sequences already applied and drops acks once delivered", async () => {
    const roster = await Roster.load(db);
    await roster.applyAnswer({ commands: [upsert(5, ana)] });
    const body = await roster.syncRequest(25, "test");
    expect(body).toMatchObject({ applied_sequence: 5, wait_s: 25, software_version: "test" });
    expect(body.acks.map((a) => a.command_id)).toEqual([cid(5)]);
    expect(body.roster_digest).toMatch(/^[0-9a-f]{64}$/);
    await roster.applyAnswer({ commands: [upsert(5, bo), upsert(4, bo)] }, body.acks);
    expect(roster.pendingAcks).toEqual([]);
    expect(roster.size).toBe(1);
    expect(roster.byEmployeeId("E101")).toBeNull();
  });

  it("a full resync drops the roster before the commands after it rebuild it", async () => {
    const roster = await Roster.load(db);
    await roster.applyAnswer({ commands: [upsert(1, ana), upsert(2, bo)] });
    await roster.applyAnswer({ commands: [resync(3), upsert(4, bo)] });
    expect([...roster.profiles.keys()]).toEqual(["w2"]);
    expect((await Roster.load(db)).size).toBe(1);
    expect(await roster.digest()).toBe(await rosterDigest([bo]));
  });

  it("answers an unknown kind with -22 and a worker without id with -1", async () => {
    const roster = await Roster.load(db);
    await roster.applyAnswer({ commands: [
      { command_id: cid(1), sequence: 1, kind: "SET_TIME" },
      { command_id: cid(2), sequence: 2, kind: "UPSERT_WORKER", worker: {} },
    ] });
    expect(roster.pendingAcks.map((a) => a.result_code)).toEqual([-22, -1]);
    expect(roster.appliedSequence).toBe(2);
  });

  it("reset forgets another clock's roster", async () => {
    const roster = await Roster.load(db);
    await roster.applyAnswer({ commands: [upsert(1, ana)] });
    await roster.reset("c2");
    const again = await Roster.load(db);
    expect([again.size, again.appliedSequence, again.known]).toEqual([0, 0, false]);
  });

  it("tells an offline PIN attempt what the edge would answer", async () => {
    const roster = await Roster.load(db);
    expect(offlinePinCheck(roster, "E999")).toBeNull(); // never synced: no opinion
    await roster.applyAnswer({ commands: [upsert(1, ana), upsert(2, bo),
      upsert(3, { ...ana, worker_id: "w3", employee_id: "E102", status: "Inactive" })] });
    expect(offlinePinCheck(roster, "E100")).toBeNull();
    expect(offlinePinCheck(roster, "E999")).toBe("UNKNOWN_USER");
    expect(offlinePinCheck(roster, "E102")).toBe("UNKNOWN_USER");
    expect(offlinePinCheck(roster, "E101")).toBe("PIN_NOT_SET"); // no PIN: identity's first
  });

  it("finds a worker offline by their Employee ID in any case, as identity does", async () => {
    // The keypad types capitals (JSMITH) for an ID the admin entered as jsmith: one worker.
    // Before, the roster compared exactly: offline, such a worker was told "Unknown User" and
    // their punch was not kept.
    const roster = await Roster.load(db);
    const jsmith = { ...ana, worker_id: "w9", employee_id: "jsmith" };
    await roster.applyAnswer({ commands: [upsert(1, jsmith)] });
    expect(roster.byEmployeeId("JSMITH")).toEqual(jsmith);
    expect(roster.byEmployeeId("jSmith")).toEqual(jsmith);
    expect(offlinePinCheck(roster, "JSMITH")).toBeNull();
    expect(offlinePinCheck(roster, "JSMITH2")).toBe("UNKNOWN_USER");
  });

  it("tells a worker without a PIN offline what identity tells them online", async () => {
    // device-sync lists PIN among allowed_methods only for a PIN set and allowed; identity
    // answers PIN_NOT_SET before PIN_NOT_ALLOWED. Before, offline said "not allowed" for both.
    const roster = await Roster.load(db);
    const pat = { worker_id: "w7", employee_id: "E107", display_name: "Pat", status: "Active",
      allowed_methods: [], pin_set: false };
    const barred = { ...pat, worker_id: "w8", employee_id: "E108", pin_set: true };
    await roster.applyAnswer({ commands: [upsert(1, pat), upsert(2, barred)] });
    expect(offlinePinCheck(roster, "E107")).toBe("PIN_NOT_SET");
    expect(offlinePinCheck(roster, "E108")).toBe("PIN_NOT_ALLOWED");
  });

  it("tells an offline card read what the edge would answer", async () => {
    const roster = await Roster.load(db);
    expect(offlineCardCheck(roster, "0042")).toBeNull(); // never synced: no opinion
    await roster.applyAnswer({ commands: [upsert(1, { ...ana, cards: ["0042", "77"] }),
      upsert(2, { ...bo, status: "Inactive", cards: ["99"] }), upsert(3, { ...ana, worker_id: "w3", employee_id: "E103" })] });
    expect(offlineCardCheck(roster, "0042")).toBeNull();
    expect(offlineCardCheck(roster, "77")).toBeNull();
    expect(offlineCardCheck(roster, "42")).toBe("UNKNOWN_USER"); // leading zeros count
    expect(offlineCardCheck(roster, "99")).toBe("UNKNOWN_USER"); // inactive
    expect(offlineCardCheck(roster, "12345")).toBe("UNKNOWN_USER");
  });
});
