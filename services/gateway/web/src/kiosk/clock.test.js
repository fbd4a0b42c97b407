// The time clock's pure parts: the screens' state machine, the face gate, one attempt.
import { describe, expect, it } from "vitest";
import { NetworkError, Unauthorized } from "./api.js";
import { faceFields, newAttempt, sendAndPoll } from "./attempts.js";
import { FACE_NOTICE_MS, gateAfter, judgeFrame, openGate, resultMs } from "./face-gate.js";
import { canRetry, initialScreen, nextScreen } from "./screens.js";

describe("the screens", () => {
  const run = (events, from = initialScreen()) => events.reduce(nextScreen, from);

  it("camera → Employee ID → PIN → checking → result → camera", () => {
    let s = run([{ type: "usePin" }]);
    expect(s).toEqual({ name: "employee" });
    s = nextScreen(s, { type: "employeeEntered", employeeId: "E-7" });
    expect(s).toEqual({ name: "pin", employeeId: "E-7" });
    s = nextScreen(s, { type: "back" });
    expect(s).toEqual({ name: "employee", employeeId: "E-7" });
    s = run([{ type: "employeeEntered", employeeId: "E-7" }, { type: "checking" }], s);
    expect(s).toEqual({ name: "busy" });
    const result = { tone: "ok", title: "Ana", line: "IN at 08:01" };
    s = nextScreen(s, { type: "result", result, extra: { employeeId: "E-7" } });
    expect(s).toEqual({ name: "result", result, employeeId: "E-7" });
    expect(canRetry(s)).toBe(false);
    expect(nextScreen(s, { type: "retry", at: 1 })).toBe(s);
    expect(nextScreen(s, { type: "camera" })).toEqual({ name: "camera" });
  });

  it("a clock verifying faces 1:1: Employee ID, then the camera for that worker's face", () => {
    let s = nextScreen(initialScreen(), { type: "faceNeedsId" });
    expect(s).toEqual({ name: "face-id" });
    s = nextScreen(s, { type: "employeeEntered", employeeId: "E-9" });
    expect(s).toEqual({ name: "camera", faceFor: "E-9" });
    // Its result, then the camera as usual (the Employee ID forgotten).
    s = nextScreen({ name: "busy" }, { type: "result", result: { tone: "ok", title: "Ana" } });
    expect(nextScreen(s, { type: "camera" })).toEqual({ name: "camera" });
    // Only from the camera: a face answer arriving on another screen changes nothing.
    const pin = { name: "pin", employeeId: "E-1" };
    expect(nextScreen(pin, { type: "faceNeedsId" })).toBe(pin);
  });

  it("a wrong PIN offers Try again: a fresh PIN keypad for the same ID", () => {
    const wrong = { tone: "bad", title: "Wrong PIN", line: "", reason: "WRONG_PIN" };
    const s = nextScreen({ name: "busy" }, { type: "result", result: wrong, extra: { employeeId: "E-7" } });
    expect(canRetry(s)).toBe(true);
    expect(nextScreen(s, { type: "retry", at: 42 })).toEqual({ name: "pin", employeeId: "E-7", try: 42 });
  });

  it("a sign-in: Employee ID → PIN → checking → the settings (Administrator) or enrolment (Manager)", () => {
    let s = run([{ type: "signIn" }]);
    expect(s).toEqual({ name: "signin-id", signIn: true });
    s = nextScreen(s, { type: "employeeEntered", employeeId: "E-1" });
    expect(s).toEqual({ name: "signin-pin", employeeId: "E-1", signIn: true });
    expect(nextScreen(s, { type: "back" })).toEqual({ name: "signin-id", employeeId: "E-1", signIn: true });
    s = nextScreen(s, { type: "checking" });
    expect(s.name).toBe("busy");
    const admin = { may: ["ENROL_FACE", "OPEN_SETTINGS"], token: "t", expiresAt: 1 };
    const settings = nextScreen(s, { type: "signedIn", elevation: admin });
    expect(settings).toEqual({ name: "settings", elevation: admin });
    expect(nextScreen(settings, { type: "enrol" })).toEqual({ name: "enrol", elevation: admin });
    const manager = { ...admin, may: ["ENROL_FACE"] };
    expect(nextScreen(s, { type: "signedIn", elevation: manager }).name).toBe("enrol");
    // Enrolment and settings need an elevation.
    expect(nextScreen(initialScreen(), { type: "settings" })).toEqual(initialScreen());
  });

  it("a wrong PIN at sign-in tries the sign-in again, not a punch", () => {
    const wrong = { tone: "bad", title: "Wrong PIN", line: "", reason: "WRONG_PIN" };
    const busy = { name: "busy", signIn: true, employeeId: "E-1" };
    const s = nextScreen(busy, { type: "result", result: wrong, extra: { employeeId: "E-1" } });
    expect(nextScreen(s, { type: "retry", at: 7 })).toEqual({
      name: "signin-pin",
      employeeId: "E-1",
      signIn: true,
      try: 7,
    });
  });

  it("a face answer arriving after Use PIN Instead or Manager leaves that screen alone", () => {
    const result = { tone: "ok", title: "Ana" };
    expect(nextScreen(initialScreen(), { type: "faceResult", result })).toEqual({ name: "result", result });
    for (const screen of [
      { name: "employee" },
      { name: "signin-pin", employeeId: "E-1", signIn: true },
      { name: "busy", signIn: true, employeeId: "E-1" },
      { name: "enrol", elevation: { role: "MANAGER" } },
    ]) {
      expect(nextScreen(screen, { type: "faceResult", result })).toBe(screen);
    }
  });

  it("a face result needs no Employee ID", () => {
    const result = { tone: "saved", title: "Saved", line: "" };
    expect(nextScreen(initialScreen(), { type: "result", result })).toEqual({ name: "result", result });
  });
});

describe("the face gate", () => {
  const still = { steady: true, blank: false, changed: false };

  it("captures a steady view at once before any attempt", () => {
    expect(judgeFrame(openGate(), 0, still).verdict).toBe("capture");
    expect(judgeFrame(openGate(), 0, { ...still, steady: false }).verdict).toBe("hold");
    expect(judgeFrame(openGate(), 0, { ...still, blank: true }).verdict).toBe("look");
  });

  it("after a punch: quiet while the result shows, then waits for the view to change", () => {
    const ok = { tone: "ok" };
    const gate = gateAfter(ok, 1000);
    expect(gate).toEqual({ notBefore: 1000 + resultMs(ok), needChange: true, orAfter: 1000 + resultMs(ok) + 4000 });
    expect(judgeFrame(gate, 2000, still)).toEqual({ verdict: "wait", gate });
    expect(judgeFrame(gate, gate.notBefore, still)).toEqual({ verdict: "look", gate });
    const moved = judgeFrame(gate, gate.notBefore, { ...still, changed: true });
    expect(moved).toEqual({ verdict: "capture", gate: { ...gate, needChange: false } });
    expect(judgeFrame(gate, gate.orAfter, still).verdict).toBe("capture");
  });

  it("after a refusal: a brief notice, then a longer wait for a change", () => {
    expect(gateAfter({ tone: "bad" }, 0)).toEqual({ notBefore: FACE_NOTICE_MS, needChange: true, orAfter: 10000 });
    expect(gateAfter({ tone: "saved" }, 0)).toEqual({ notBefore: 5000, needChange: true, orAfter: 15000 });
  });
});

describe("one attempt", () => {
  const answers = (...list) => {
    const calls = [];
    const next = (what) => async (arg) => {
      calls.push([what, arg]);
      const a = list.shift();
      if (a instanceof Error) throw a;
      return a;
    };
    return { calls, api: { punch: next("punch"), result: next("result") } };
  };
  const sleep = async () => {};

  it("its body: an id, the capture time with offset, and the method's fields", () => {
    const body = newAttempt({ method: "PIN", employee_id: "E-7", pin: "1234" }, new Date("2026-01-12T07:01:30Z"));
    expect(body).toMatchObject({ offline: false, direction: null, method: "PIN", employee_id: "E-7", pin: "1234" });
    expect(body.attempt_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(body.captured_at)).toBe(Date.parse("2026-01-12T07:01:30Z"));
  });

  it("a face attempt's fields: aligned only when its frames are aligned chips", () => {
    expect(faceFields({ frame: "F", burst: ["B1", "B2"], aligned: true })).toEqual({
      method: "FACE", frame_jpeg: "F", burst_jpeg: ["B1", "B2"], aligned: true,
    });
    expect(faceFields({ frame: "F", scores: { face: 0.9, real: 0.8, live: 0.7 }, employeeId: "E-7" })).toEqual({
      method: "FACE", frame_jpeg: "F", client_liveness: { face: 0.9, real: 0.8, live: 0.7 }, employee_id: "E-7",
    });
  });

  it("follows a 202 until the answer, asking again after a network error", async () => {
    const { calls, api } = answers(
      { status: 202, answer: { status: "pending" } },
      new NetworkError(),
      { status: 202, answer: { status: "pending" } },
      { status: 200, answer: { status: "recorded" } },
    );
    const got = await sendAndPoll(api, { attempt_id: "a1" }, { sleep });
    expect(got).toEqual({ status: 200, answer: { status: "recorded" } });
    expect(calls.map(([w]) => w)).toEqual(["punch", "result", "result", "result"]);
    expect(calls[1][1]).toBe("a1");
  });

  it("gives up asking after its tries; a refused credential is thrown", async () => {
    const pending = { status: 202, answer: { status: "pending" } };
    const { api } = answers(pending, pending, pending);
    expect(await sendAndPoll(api, { attempt_id: "a1" }, { sleep, tries: 2 })).toEqual(pending);
    const refused = answers(pending, new Unauthorized());
    await expect(sendAndPoll(refused.api, { attempt_id: "a1" }, { sleep })).rejects.toBeInstanceOf(Unauthorized);
  });
});
