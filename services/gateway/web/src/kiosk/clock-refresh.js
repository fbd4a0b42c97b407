// The clock's own facts — its name, time zone and whether its tenant keeps evidence photos
// (GET /kiosk/v1/whoami) — asked when the kiosk starts and again every CLOCK_REFRESH_MS: a
// kiosk runs for weeks without a reload, and an administrator's change (a renamed clock, a
// corrected time zone, which the times on screen follow, the tenant starting to keep a photo
// of every punch) must reach it. A refused credential (401) stops it and is reported; any
// other failure waits for the next turn.

import { Unauthorized } from "./api.js";

// The edge remembers its answers a minute; a few minutes here costs one request per tablet.
export const CLOCK_REFRESH_MS = 5 * 60 * 1000;

export function startClockRefresh({ api, onClock, onUnauthorized, everyMs = CLOCK_REFRESH_MS }) {
  let stopped = false;
  let timer = null;

  async function ask() {
    timer = null;
    try {
      const who = await api.whoami();
      if (!stopped) onClock(who);
    } catch (error) {
      if (error instanceof Unauthorized) {
        if (!stopped) onUnauthorized?.();
        return;
      }
    }
    if (!stopped) timer = setTimeout(ask, everyMs);
  }

  ask();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
