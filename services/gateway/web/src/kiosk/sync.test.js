import { describe, expect, it } from "vitest";
import { HttpError, NetworkError } from "./api.js";
import { nextWaitS, offlineAfter, startSync } from "./sync.js";

// A roster that records nothing but the sync requests' waits, and an edge scripted per call.
function harness(script) {
  const waits = [];
  const statuses = [];
  const roster = {
    syncRequest: async (waitS) => ({ wait_s: waitS, acks: [] }),
    applyAnswer: async () => ({ changed: false }),
  };
  let call = 0;
  let sync;
  const api = {
    sync: async (body) => {
      waits.push(body.wait_s);
      const step = script[call++];
      if (step === undefined) {
        sync.stop();
        return {};
      }
      if (step instanceof Error) {
        setTimeout(() => sync.poke(), 0); // end the backoff sleep at once
        throw step;
      }
      return step;
    },
  };
  sync = startSync({ api, roster, waitS: 25, onStatus: (s) => statuses.push(s.online) });
  return { waits, statuses, running: sync.running };
}

describe("the roster's sync loop", () => {
  it("asks without waiting first, then long-polls", async () => {
    const { waits, statuses, running } = harness([{}, {}]);
    await running;
    expect(waits.slice(0, 2)).toEqual([0, 25]);
    expect(statuses).toEqual([true, true]);
  });

  it("a long-poll refused for the clock's held polls (a reloaded page's) stays Online", async () => {
    const busy = new HttpError(429, { code: "RATE_LIMITED", message: "poll again later" });
    const { waits, statuses, running } = harness([{}, busy, {}]);
    await running;
    // The 429 was an answer: the roster is current, so the next ask long-polls again.
    expect(waits.slice(0, 3)).toEqual([0, 25, 25]);
    expect(statuses).toEqual([true, true, true]);
  });

  it("after no answer it is Offline, and asks without waiting when back", async () => {
    const { waits, statuses, running } = harness([{}, new NetworkError(new TypeError("x")), {}]);
    await running;
    expect(waits.slice(0, 3)).toEqual([0, 25, 0]);
    expect(statuses).toEqual([true, false, true]);
  });

  it("the rules", () => {
    expect(nextWaitS(false, 25)).toBe(0);
    expect(nextWaitS(true, 25)).toBe(25);
    expect(offlineAfter(new HttpError(429, {}))).toBe(false);
    expect(offlineAfter(new HttpError(503, {}))).toBe(true);
    expect(offlineAfter(new NetworkError(new TypeError("x")))).toBe(true);
  });
});
