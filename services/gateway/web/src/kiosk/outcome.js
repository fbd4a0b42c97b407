// What the worker is told: the kiosk edge's answer (services/gateway/README.md, "The kiosk
// edge") turned into a screen — a tone, a title and a line. A rejection never names anyone.

import { clockTime, countOf } from "../shared/format.js";

export const SAVED_OFFLINE = "Saved — will be confirmed when back online";

const REASONS = {
  UNKNOWN_USER: "Unknown User",
  LOCKED_OUT: "PIN locked — ask your manager",
  PIN_NOT_SET: "No PIN set — ask your manager",
  PIN_NOT_ALLOWED: "PIN punching is not allowed for you — ask your manager",
  CAPTURE_TIME_IN_FUTURE: "This clock's time is wrong — punch not recorded",
  CAPTURE_TIME_TOO_OLD: "This punch is too old — not recorded",
  NO_FACE: "No face found — please try again",
  MULTIPLE_FACES: "More than one face — one person at a time, please",
  NO_MATCH: "Face not recognised — try again or use your PIN",
  AMBIGUOUS: "Face not recognised — try again or use your PIN",
  INVALID_FRAME: "The camera image could not be used — please try again",
  EMPLOYEE_ID_REQUIRED: "Enter your Employee ID, then look at the camera",
  // The server's liveness check saw a photo, a screen or a still image (docs/face-match.md).
  SPOOF_SUSPECTED: "Please look at the camera — or use your PIN",
  // The tenant refuses PIN and card punches whose photo is not the worker's face, and this
  // punch's photo showed another face or none (docs/punch.md, the evidence policy).
  FACE_CHECK_FAILED: "Please look at the camera",
  NOT_RECORDED: "Punch not recorded",
};

export function wrongPin(remaining) {
  if (!Number.isInteger(remaining)) return "Wrong PIN";
  return `Wrong PIN — ${countOf(remaining, "try", "tries")} left`;
}

export function reasonText(reason, answer = {}) {
  if (reason === "WRONG_PIN") return wrongPin(answer.attempts_remaining);
  return REASONS[reason] || answer.message || REASONS.NOT_RECORDED;
}

// {tone: "ok"|"bad"|"wait"|"saved", title, line, reason?}
export function describe(status, answer, timeZone) {
  if (status === 200 && answer?.status === "recorded") {
    const punch = answer.punch || {};
    const at = clockTime(punch.punched_at, timeZone);
    const direction = punch.direction === "IN" || punch.direction === "OUT" ? punch.direction : "";
    return {
      tone: "ok",
      title: punch.display_name || punch.employee_id || "Recorded",
      direction,
      line: `${direction ? `${direction} at ` : "At "}${at}${punch.repeat ? " (already recorded)" : ""}`,
    };
  }
  if (status === 200 && answer?.status === "rejected") {
    return { tone: "bad", title: reasonText(answer.reason, answer), line: "", reason: answer.reason };
  }
  if (status === 202) {
    return { tone: "wait", title: "Punch received", line: "It will be confirmed shortly" };
  }
  if (status === 503) {
    return { tone: "bad", title: "The system is busy", line: "Please try again in a moment" };
  }
  return { tone: "bad", title: "Punch not recorded", line: "Please try again" };
}

// Refusals that say the face could not be judged: none, several, a frame that could not be
// used, or a capture the liveness check doubted. The worker may simply look again; every other
// answer is a verdict on who it is (or a punch that was not possible).
const LOOK_AGAIN = new Set(["NO_FACE", "MULTIPLE_FACES", "INVALID_FRAME", "SPOOF_SUSPECTED"]);

/** Whether a face attempt's result asks only for another look (the face was not judged). */
export function looksAgain(result) {
  return result?.tone === "bad" && LOOK_AGAIN.has(result.reason);
}

// What the aria-live region says for a result: "Ana Pérez. IN at 08:01".
export function spoken(result) {
  return `${result.title}${result.line ? `. ${result.line}` : ""}`;
}

export function saved() {
  return { tone: "saved", title: SAVED_OFFLINE, line: "" };
}
