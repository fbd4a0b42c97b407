import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { NetworkError, Unauthorized } from "./api.js";
import { faceFields, fateOf, newAttempt } from "./attempts.js";
import { openDb } from "./db.js";
import { enqueue, flush, pending, size } from "./queue.js";

const attempt = (n) => ({ attempt_id: `a${n}`, captured_at: `2026-01-12T08:0${n}:00+01:00`,
  offline: true, method: "PIN", employee_id: "E100", pin: "604137" });

let db;
beforeEach(async () => {
  db = await openDb(new IDBFactory());
});

describe("the outbox", () => {
  it("keeps attempts in order and deletes each as soon as the edge accepts it", async () => {
    for (const n of [1, 2, 3]) await enqueue(db, attempt(n));
    expect(await size(db)).toBe(3);
    const seen = [];
    const result = await flush(db, async (body) => {
      seen.push([body.attempt_id, await size(db)]);
      return { status: body.attempt_id === "a2" ? 202 : 200, answer: {} };
    });
    expect(seen).toEqual([["a1", 3], ["a2", 2], ["a3", 1]]);
    expect(result).toMatchObject({ sent: 3, dropped: 0, left: 0 });
    expect(await size(db)).toBe(0);
  });

  it("keeps what was not sent when the network fails or the edge is unavailable", async () => {
    for (const n of [1, 2, 3]) await enqueue(db, attempt(n));
    let calls = 0;
    const result = await flush(db, async () => {
      calls += 1;
      if (calls === 2) throw new NetworkError(new TypeError("Failed to fetch"));
      return { status: 200, answer: {} };
    });
    expect(result).toMatchObject({ sent: 1, left: 2 });
    expect((await pending(db)).map((e) => e.attempt_id)).toEqual(["a2", "a3"]);
    const busy = await flush(db, async () => ({ status: 503, answer: {} }));
    expect(busy).toMatchObject({ sent: 0, left: 2 });
    expect(await size(db)).toBe(2);
    // Too many at once (the edge's rate limit): kept for later, never dropped.
    const limited = await flush(db, async () => ({ status: 429, answer: {} }));
    expect(limited).toMatchObject({ sent: 0, dropped: 0, left: 2 });
    expect(await size(db)).toBe(2);
    // A proxy's answer during a deploy (no route yet, timed out, bad gateway) is not the
    // edge's verdict: kept, never dropped.
    for (const status of [404, 408, 502, 504]) {
      const proxied = await flush(db, async () => ({ status, answer: {} }));
      expect(proxied).toMatchObject({ sent: 0, dropped: 0, left: 2 });
    }
    expect(await size(db)).toBe(2);
  });

  it("drops what the edge will never accept, and stops on a revoked credential", async () => {
    for (const n of [1, 2]) await enqueue(db, attempt(n));
    const result = await flush(db, async (b) => ({ status: b.attempt_id === "a1" ? 409 : 422 }));
    expect(result).toMatchObject({ sent: 0, dropped: 2 });
    await enqueue(db, attempt(3));
    await expect(flush(db, async () => { throw new Unauthorized(); })).rejects.toThrow(Unauthorized);
    expect(await size(db)).toBe(1);
  });

  it("sends the same attempt again with its original capture time", async () => {
    await enqueue(db, attempt(1));
    const bodies = [];
    await flush(db, async (body) => { bodies.push(body); throw new NetworkError(); });
    await flush(db, async (body) => { bodies.push(body); return { status: 200 }; });
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[1]).toMatchObject({ attempt_id: "a1", captured_at: "2026-01-12T08:01:00+01:00", offline: true });
  });

  it("keeps a face attempt's aligned chips as aligned chips", async () => {
    const chip = "/9j/4AAQSkZJRgABAQ";
    const body = newAttempt(faceFields({ frame: chip, burst: [chip, chip], aligned: true }));
    await enqueue(db, { ...body, offline: true });
    const [entry] = await pending(db);
    expect(entry.body).toMatchObject({ method: "FACE", aligned: true, frame_jpeg: chip, burst_jpeg: [chip, chip] });
    const bodies = [];
    await flush(db, async (b) => { bodies.push(b); return { status: 202 }; });
    expect(bodies).toEqual([{ ...body, offline: true }]);
  });
});

describe("an attempt's fate by the edge's status", () => {
  it("drops only what the edge itself refuses; keeps what a proxy or an outage answers", () => {
    expect([200, 202].map(fateOf)).toEqual(["accepted", "accepted"]);
    expect([400, 409, 413, 422].map(fateOf)).toEqual(Array(4).fill("refused"));
    for (const status of [404, 405, 408, 425, 429, 500, 502, 503, 504]) {
      expect(fateOf(status)).toBe("kept");
    }
  });
});
