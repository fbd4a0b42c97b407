// A Manager / Administrator signed in at the kiosk (POST /kiosk/v1/sign-in): what the sign-in
// opens, what a refusal says, and the settings screen's facts. Pure.
//
// The server decides the role (identity checks the PIN, device-sync owns the role): the
// answer's `may` lists what it opens here — OPEN_SETTINGS (an Administrator), ENROL_FACE (a
// Manager or an Administrator). Its `elevation` is sent back with what it opens, until
// `expires_at`; the kiosk drops it when the screen is left.

export const OPEN_SETTINGS = "OPEN_SETTINGS";
export const ENROL_FACE = "ENROL_FACE";
// Settings and enrolment go back to the camera after this long without a touch.
export const ELEVATED_IDLE_MS = 60000;

/** An answer of POST /kiosk/v1/sign-in, as the kiosk keeps it (no PIN in it). */
export function elevationOf(answer) {
  return {
    workerId: answer.worker_id,
    name: answer.name,
    role: answer.clock_role,
    may: Array.isArray(answer.may) ? answer.may : [],
    token: answer.elevation,
    expiresAt: Date.parse(answer.expires_at),
  };
}

export const may = (elevation, action) => Boolean(elevation?.may.includes(action));

/** Whether the elevation still holds at `now` (ms). */
export const elevationValid = (elevation, now) =>
  Boolean(elevation?.token) && Number.isFinite(elevation.expiresAt) && elevation.expiresAt > now;

/** The screen a sign-in opens: the settings for an Administrator, enrolment for a Manager. */
export function screenAfterSignIn(elevation) {
  if (may(elevation, OPEN_SETTINGS)) return "settings";
  if (may(elevation, ENROL_FACE)) return "enrol";
  return "camera";
}

const REFUSALS = {
  KIOSK_ROLE_REQUIRED: "Your role on this clock is for punching only",
  UNKNOWN_USER: "Unknown User",
  PIN_NOT_SET: "No PIN set — ask your manager",
  PIN_NOT_ALLOWED: "PIN not allowed — ask your manager",
  LOCKED_OUT: "PIN locked — ask your manager",
  WRONG_PIN: "Wrong PIN",
  KIOSK_ELEVATION_INVALID: "Sign in again",
  RATE_LIMITED: "Too many tries — wait a minute",
};

/** What the worker reads for a refused sign-in or elevated action (status, the edge's body). */
export function refusalText(status, answer) {
  if (answer?.code === "WRONG_PIN" && answer.attempts_remaining > 0) {
    const n = answer.attempts_remaining;
    return `Wrong PIN — ${n} ${n === 1 ? "try" : "tries"} left`;
  }
  if (answer?.code && REFUSALS[answer.code]) return REFUSALS[answer.code];
  if (status === 503 || status === 0) return "The server is unavailable — try again";
  return answer?.message || "Not possible — try again";
}

/** A date and time in the clock's zone (the header's), the device's when the zone is unknown. */
function inZone(iso, timeZone) {
  try {
    return new Date(iso).toLocaleString(undefined, timeZone ? { timeZone } : {});
  } catch {
    return new Date(iso).toLocaleString();
  }
}

/** The settings screen's facts, as [label, value] rows. */
export function settingsRows({ clock, rosterSize, syncedAt, online, saved, version }) {
  return [
    ["Clock", clock?.name || "—"],
    ["Time zone", clock?.time_zone || "—"],
    ["Roster", rosterSize === null || rosterSize === undefined ? "—" : `${rosterSize} ${rosterSize === 1 ? "worker" : "workers"}`],
    ["Last sync", syncedAt ? inZone(syncedAt, clock?.time_zone) : "never"],
    ["Connection", online ? "Online" : "Offline"],
    ["Saved attempts", String(saved || 0)],
    ["App version", version],
  ];
}

/** The confirmation of "Forget this clock on this tablet". */
export function forgetWarning(saved) {
  const lost = saved
    ? ` ${saved} saved ${saved === 1 ? "attempt" : "attempts"} not yet sent will be deleted.`
    : "";
  return `This tablet forgets the clock's credential and roster and returns to pairing.${lost}`;
}
