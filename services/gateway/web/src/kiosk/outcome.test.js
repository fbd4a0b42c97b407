import { describe, expect, it } from "vitest";
import { isoWithOffset } from "../shared/format.js";
import { describe as answerOf, looksAgain, reasonText, SAVED_OFFLINE, saved, spoken } from "./outcome.js";
import { isBlank, luma, meanAbsDiff, SteadyView } from "./steady.js";
import { backoffMs } from "./sync.js";

describe("what the worker is told", () => {
  it("a recorded punch: the name, IN/OUT and the time in the clock's zone", () => {
    const screen = answerOf(200, { status: "recorded", punch: { display_name: "Ana Pérez",
      direction: "IN", punched_at: "2026-01-12T07:01:30+00:00", repeat: false } }, "Europe/Madrid");
    expect(screen).toMatchObject({ tone: "ok", title: "Ana Pérez", line: "IN at 08:01" });
  });

  it("rejections by reason, never naming anyone", () => {
    expect(reasonText("UNKNOWN_USER")).toBe("Unknown User");
    expect(reasonText("WRONG_PIN", { attempts_remaining: 2 })).toBe("Wrong PIN — 2 tries left");
    expect(reasonText("WRONG_PIN", { attempts_remaining: 1 })).toBe("Wrong PIN — 1 try left");
    expect(reasonText("LOCKED_OUT", { locked_until: "x" })).toBe("PIN locked — ask your manager");
    expect(reasonText("SOMETHING_NEW", { message: "Punch not recorded" })).toBe("Punch not recorded");
    expect(reasonText("SPOOF_SUSPECTED")).toBe("Please look at the camera — or use your PIN");
    expect(reasonText("FACE_CHECK_FAILED")).toBe("Please look at the camera");
    expect(answerOf(200, { status: "rejected", reason: "FACE_CHECK_FAILED" })).toMatchObject({
      tone: "bad",
      title: "Please look at the camera",
      reason: "FACE_CHECK_FAILED",
    });
    expect(answerOf(200, { status: "rejected", reason: "NO_MATCH" })).toMatchObject({ tone: "bad", reason: "NO_MATCH" });
    expect(answerOf(202, { status: "pending" }).tone).toBe("wait");
    expect(saved().title).toBe(SAVED_OFFLINE);
    expect(spoken({ title: "Ana Pérez", line: "IN at 08:01" })).toBe("Ana Pérez. IN at 08:01");
    expect(spoken(saved())).toBe(SAVED_OFFLINE);
  });

  it("a face that could not be judged asks for another look; a verdict on who it is does not", () => {
    const refused = (reason) => answerOf(200, { status: "rejected", reason });
    for (const reason of ["NO_FACE", "MULTIPLE_FACES", "INVALID_FRAME", "SPOOF_SUSPECTED"]) {
      expect(looksAgain(refused(reason)), reason).toBe(true);
    }
    for (const reason of ["NO_MATCH", "AMBIGUOUS", "UNKNOWN_USER", "INACTIVE", "EMPLOYEE_ID_REQUIRED"]) {
      expect(looksAgain(refused(reason)), reason).toBe(false);
    }
    expect(looksAgain(answerOf(503, null))).toBe(false);
    expect(looksAgain(answerOf(200, { status: "recorded", punch: {} }))).toBe(false);
  });

  it("capture times are RFC 3339 with the device's offset", () => {
    const text = isoWithOffset(new Date("2026-01-12T07:01:30.250Z"));
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
    expect(new Date(text).getTime()).toBe(Date.parse("2026-01-12T07:01:30.250Z"));
  });
});

describe("the steady view", () => {
  const frame = (seed) => Uint8Array.from({ length: 32 * 24 }, (_, i) => (i * 37 + seed) % 200 + 30);

  it("is steady after 600 ms of still, non-blank frames", () => {
    const view = new SteadyView();
    const y = frame(0);
    expect(view.feed(y, 0).steady).toBe(false);
    expect(view.feed(y, 100).steady).toBe(false);
    expect(view.feed(y, 700).steady).toBe(true);
    expect(view.feed(frame(50), 800).steady).toBe(false); // moved
  });

  it("a blank or dark view is never steady", () => {
    const view = new SteadyView();
    const grey = new Uint8Array(768).fill(128);
    for (const t of [0, 400, 800, 1200]) expect(view.feed(grey, t)).toMatchObject({ steady: false, blank: true });
    expect(isBlank(new Uint8Array(768).fill(5))).toBe(true);
    expect(isBlank(frame(0))).toBe(false);
  });

  it("after an attempt, waits for the view to change", () => {
    const view = new SteadyView();
    const y = frame(0);
    view.feed(y, 0);
    view.remember();
    expect(view.feed(y, 1000).changed).toBe(false);
    expect(view.feed(frame(90), 1100).changed).toBe(true);
  });

  it("luma and differences", () => {
    expect([...luma(Uint8ClampedArray.from([255, 255, 255, 255, 0, 0, 0, 255]))]).toEqual([255, 0]);
    expect(meanAbsDiff(Uint8Array.from([0, 10]), Uint8Array.from([10, 10]))).toBe(5);
    expect(meanAbsDiff(null, Uint8Array.from([1]))).toBe(Infinity);
  });

  it("backs off exponentially up to a cap", () => {
    expect(backoffMs(1, { random: () => 1 })).toBe(1000);
    expect(backoffMs(3, { random: () => 0 })).toBe(2000);
    expect(backoffMs(20, { random: () => 1 })).toBe(30000);
  });
});
