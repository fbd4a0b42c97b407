// The roster's sync loop: POST /kiosk/v1/sync long-polls (wait_s 25) with the applied
// sequence, the roster digest and the pending acks; each answer is applied (roster.js) and
// the loop asks again at once. Errors back off exponentially with jitter (1 s doubling to
// 30 s); coming back online wakes it. A 401 stops it (the credential was revoked).
//
// The first sync (at start, and after an error) waits for nothing (wait_s 0): it is answered at
// once and never refused for the clock's held long-polls. A reloaded page's old long-poll is
// still held at the server until its wait ends (up to 25 s): the new page gets its roster and
// shows Online at once, and a long-poll refused meanwhile (429) is the server's "not now",
// not an outage: the kiosk stays Online and asks again after the backoff.

import { HttpError, Unauthorized } from "./api.js";

/** How long the next sync may wait at the server: 0 unless the last one was answered. */
export function nextWaitS(lastAnswered, waitS) {
  return lastAnswered ? waitS : 0;
}

/** Whether a failed sync says the server is unreachable (Offline), not only busy. */
export function offlineAfter(error) {
  return !(error instanceof HttpError && error.status === 429);
}

export const SOFTWARE_VERSION = "punchcard-kiosk-app 1.0.0";

export function backoffMs(attempt, { baseMs = 1000, capMs = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(attempt - 1, 0));
  return ceiling / 2 + random() * (ceiling / 2);
}

export function startSync({ api, roster, waitS = 25, onChange, onStatus, onUnauthorized }) {
  let stopped = false;
  let wake = null;
  let inflight = null;
  let errors = 0;
  let answered = false;

  const sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function loop() {
    while (!stopped) {
      try {
        const body = await roster.syncRequest(nextWaitS(answered, waitS), SOFTWARE_VERSION);
        inflight = new AbortController();
        const answer = await api.sync(body, inflight.signal);
        inflight = null;
        if (stopped) return;
        const { changed } = await roster.applyAnswer(answer, body.acks);
        errors = 0;
        answered = true;
        onStatus?.({ online: true });
        if (changed) onChange?.();
      } catch (error) {
        inflight = null;
        if (stopped) return;
        if (error instanceof Unauthorized) {
          stopped = true;
          onUnauthorized?.();
          return;
        }
        errors += 1;
        const offline = offlineAfter(error);
        if (offline) answered = false; // (a 429 was an answer: the roster is as current as it was)
        onStatus?.({ online: !offline, error });
        await sleep(backoffMs(errors));
      }
    }
  }

  const online = () => wake?.();
  globalThis.addEventListener?.("online", online);
  const running = loop();
  return {
    running,
    // Ask again now (e.g. back online): ends a backoff sleep.
    poke: online,
    stop() {
      stopped = true;
      globalThis.removeEventListener?.("online", online);
      inflight?.abort();
      wake?.();
    },
  };
}
