import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Unauthorized } from "./api.js";
import { CLOCK_REFRESH_MS, startClockRefresh } from "./clock-refresh.js";

const who = (fields) => ({ clock_id: "c1", name: "Lobby", time_zone: "Europe/Madrid", evidence_photos: false, ...fields });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("the clock's facts (whoami)", () => {
  it("are asked at start and again later, so an administrator's change reaches a running kiosk", async () => {
    // Before, whoami was asked once when the kiosk started: a corrected time zone (the times
    // the kiosk shows) or the tenant starting to keep evidence photos needed a reload.
    const answers = [who({}), who({ time_zone: "America/New_York", evidence_photos: true })];
    const api = { whoami: vi.fn(async () => answers.shift() ?? who({ name: "Hall" })) };
    const seen = [];
    const refresh = startClockRefresh({ api, onClock: (w) => seen.push(w) });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.map((w) => w.time_zone)).toEqual(["Europe/Madrid"]);
    await vi.advanceTimersByTimeAsync(CLOCK_REFRESH_MS);
    expect(seen.map((w) => [w.time_zone, w.evidence_photos])).toEqual([
      ["Europe/Madrid", false],
      ["America/New_York", true],
    ]);
    refresh.stop();
    await vi.advanceTimersByTimeAsync(3 * CLOCK_REFRESH_MS);
    expect(api.whoami).toHaveBeenCalledTimes(2);
  });

  it("keep asking after a failure, and stop at a refused credential", async () => {
    const api = {
      whoami: vi
        .fn()
        .mockRejectedValueOnce(new Error("offline"))
        .mockResolvedValueOnce(who({}))
        .mockRejectedValueOnce(new Unauthorized()),
    };
    const seen = [];
    const refused = vi.fn();
    startClockRefresh({ api, onClock: (w) => seen.push(w), onUnauthorized: refused });
    await vi.advanceTimersByTimeAsync(5 * CLOCK_REFRESH_MS);
    expect(seen).toHaveLength(1);
    expect(refused).toHaveBeenCalledTimes(1);
    expect(api.whoami).toHaveBeenCalledTimes(3);
  });
});
