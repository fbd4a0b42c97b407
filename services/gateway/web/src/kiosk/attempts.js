// One punch attempt to the kiosk edge (pure but for the API given): its body, and sending it
// then asking for its result while the edge answers 202 (pending), once a second for 45 s.

import { isoWithOffset } from "../shared/format.js";
import { NetworkError } from "./api.js";

export const POLL_MS = 1000;
export const POLL_TRIES = 45;
/** Unavailable, or too many at once: the attempt is kept and sent again later, never lost. */
export const KEEP_STATUSES = [503, 429];

/** The body of POST /kiosk/v1/punches: `fields` are the method's ({method: "PIN", …}). */
export function newAttempt(fields, now = new Date()) {
  return {
    attempt_id: crypto.randomUUID(),
    captured_at: isoWithOffset(now),
    offline: false,
    direction: null,
    ...fields,
  };
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `body` and follows a 202 with GET /punches/{attempt_id} until an answer (a network
 * error while asking is asked again). {status, answer} of the last answer; the first send's
 * errors (NetworkError, Unauthorized) are thrown.
 */
export async function sendAndPoll(api, body, { tries = POLL_TRIES, pollMs = POLL_MS, sleep = pause } = {}) {
  let { status, answer } = await api.punch(body);
  for (let i = 0; status === 202 && i < tries; i++) {
    await sleep(pollMs);
    try {
      ({ status, answer } = await api.result(body.attempt_id));
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
    }
  }
  return { status, answer };
}
