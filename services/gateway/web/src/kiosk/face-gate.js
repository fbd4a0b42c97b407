// When the camera loop may try a face again (pure). After an attempt, the result stays on
// screen a while (RESULT_MS; a refusal only as a brief notice), then the view must change —
// someone else, or the same person moving — or enough time pass, before the next capture: one
// person standing still is not punched twice.

export const RESULT_MS = { ok: 4000, bad: 5000, wait: 5000, saved: 5000 };
export const FACE_NOTICE_MS = 3000;
export const LOOK_HINT = "Look at the camera to clock in or out";
export const HOLD_HINT = "Hold still…";

/** The gate before any attempt: capture as soon as the view is steady. */
export const openGate = () => ({ notBefore: 0, needChange: false, orAfter: 0 });

/** How long a result is shown (the result screen's timer). */
export const resultMs = (result) => RESULT_MS[result.tone] || 4000;

/** The gate an attempt's result leaves, at time `t` (ms). */
export function gateAfter(result, t) {
  if (result.tone === "bad") {
    return { notBefore: t + FACE_NOTICE_MS, needChange: true, orAfter: t + 10000 };
  }
  const shown = resultMs(result);
  return { notBefore: t + shown, needChange: true, orAfter: t + shown + (result.tone === "ok" ? 4000 : 10000) };
}

/**
 * What to do with one sampled frame at time `t`, given the gate and the steadiness check
 * ({steady, blank, changed}): {verdict, gate}, verdict "wait" (say nothing new), "look"
 * (LOOK_HINT), "hold" (HOLD_HINT) or "capture"; `gate` is the gate from now on (the change it
 * waited for has come, or its time).
 */
export function judgeFrame(gate, t, { steady, blank, changed }) {
  if (t < gate.notBefore) return { verdict: "wait", gate };
  if (gate.needChange && !changed && t < gate.orAfter) return { verdict: "look", gate };
  const next = gate.needChange ? { ...gate, needChange: false } : gate;
  if (blank) return { verdict: "look", gate: next };
  if (!steady) return { verdict: "hold", gate: next };
  return { verdict: "capture", gate: next };
}
