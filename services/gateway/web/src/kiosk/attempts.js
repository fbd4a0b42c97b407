// One punch attempt to the kiosk edge (pure but for the API given): its body, and sending it
// then asking for its result while the edge answers 202 (pending), once a second for 45 s.

import { isoWithOffset } from "../shared/format.js";
import { NetworkError } from "./api.js";

export const POLL_MS = 1000;
export const POLL_TRIES = 45;
/** What the kiosk edge answers when it will never take the attempt as sent (its documented
 * refusals): a bad field (422, 400), an id used before with other content (409), too large
 * (413). 401 is the credential's, handled apart. */
export const REFUSED_STATUSES = [400, 409, 413, 422];

/**
 * What becomes of an attempt given the edge's HTTP status: "accepted" (200, or 202 pending),
 * "refused" (the edge's own refusals: sending it again can never help, so it is dropped), or
 * "kept" — everything else: 429 and 503 (too many at once, unavailable: the edge says so),
 * any other 5xx, and a 4xx the edge never answers for a punch (404, 405, 408, …: a proxy or
 * load balancer's during a deploy). A kept attempt is saved, with its original capture time,
 * and sent again later: a punch is never lost to an answer that was not the edge's verdict.
 */
export function fateOf(status) {
  if (status === 200 || status === 202) return "accepted";
  if (REFUSED_STATUSES.includes(status)) return "refused";
  return "kept";
}

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

/**
 * The method's fields of a FACE attempt: the first frame and the rest of the burst (base64
 * JPEGs), the browser's own scores (liveness.js: advice the server logs nowhere and never
 * trusts), `aligned` when the frames are aligned face chips (dlib's geometry) rather than whole frames
 * (camera.js, align.js), and the Employee ID typed after EMPLOYEE_ID_REQUIRED (the face is then
 * checked 1:1 against it). Only set fields go: an edge without `aligned` takes full frames.
 */
export function faceFields({ frame, burst = [], scores = null, aligned = false, employeeId = null }) {
  return {
    method: "FACE",
    frame_jpeg: frame,
    ...(burst.length ? { burst_jpeg: burst } : {}),
    ...(aligned ? { aligned: true } : {}),
    ...(scores ? { client_liveness: scores } : {}),
    ...(employeeId ? { employee_id: employeeId } : {}),
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
