import { describe, expect, it } from "vitest";
import { pinLock, pinLockText } from "./pin-locks.js";

const NOW = new Date("2026-03-02T12:00:00Z");
const LATER = "2026-03-02T12:15:00Z";
const EARLIER = "2026-03-02T11:00:00Z";

describe("pinLock", () => {
  it("is null for a worker without a lock in force", () => {
    expect(pinLock({ pin_locked_until: null }, NOW)).toBeNull();
    expect(pinLock({ pin_locked_until: EARLIER, pin_locked_at_clocks: [] }, NOW)).toBeNull();
    expect(pinLock({ pin_locked_at_clocks: [{ clock_id: "c", locked_until: EARLIER }] }, NOW)).toBeNull();
  });

  it("says a lock everywhere", () => {
    const lock = pinLock({ pin_locked_until: LATER, pin_locked_at_clocks: [] }, NOW);
    expect(lock).toEqual({ everywhere: true, clocks: 0, until: LATER });
    expect(pinLockText(lock)).toBe("PIN locked after too many wrong tries");
  });

  it("says a lock at a clock, until the latest in force", () => {
    const clocks = [
      { clock_id: "a", locked_until: LATER },
      { clock_id: "b", locked_until: "2026-03-02T12:05:00Z" },
      { clock_id: "c", locked_until: EARLIER },
    ];
    const lock = pinLock({ pin_locked_until: null, pin_locked_at_clocks: clocks }, NOW);
    expect(lock).toEqual({ everywhere: false, clocks: 2, until: LATER });
    expect(pinLockText(lock)).toBe("PIN locked at 2 clocks after too many wrong tries there");
    expect(pinLockText({ ...lock, clocks: 1 })).toBe("PIN locked at a clock after too many wrong tries there");
  });
});
