// The roster's sync loop: POST /kiosk/v1/sync long-polls (wait_s 25) with the applied
// sequence, the roster digest and the pending acks; each answer is applied (roster.js) and
// the loop asks again at once. Errors back off exponentially with jitter (1 s doubling to
// 30 s); coming back online wakes it. A 401 stops it (the credential was revoked).

import { Unauthorized } from "./api.js";

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
        const body = await roster.syncRequest(waitS, SOFTWARE_VERSION);
        inflight = new AbortController();
        const answer = await api.sync(body, inflight.signal);
        inflight = null;
        if (stopped) return;
        const { changed } = await roster.applyAnswer(answer, body.acks);
        errors = 0;
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
        onStatus?.({ online: false, error });
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
