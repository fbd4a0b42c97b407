// Dates, times, durations, counts and names as the two apps show them, written once. Pure
// (Intl and Date only): the kiosk and the portal import what they need, Vitest tests it
// (format.test.js). Where a zone is given it is the clock's or the site's; else the browser's.

const pad = (n, width = 2) => String(Math.abs(n)).padStart(width, "0");

// --- counts and names -------------------------------------------------------------------------

/** "1 worker", "3 workers"; `many` for irregular plurals ("tries", "punches"). */
export function countOf(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A worker in a picker or a log line: "Ana Pérez (E-1001)". */
export function workerLabel(worker) {
  return `${worker.name} (${worker.employee_id})`;
}

// --- local dates (the browser's zone) ---------------------------------------------------------

/** A Date's local calendar day: "2026-01-12". */
export function localDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Today's date (YYYY-MM-DD) in the browser's zone, `days` away. */
export function isoDate(days = 0, now = new Date()) {
  const d = new Date(now);
  d.setDate(d.getDate() + days);
  return localDate(d);
}

/** A local date (YYYY-MM-DD), `days` later (or earlier). */
export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return localDate(new Date(y, m - 1, d + days));
}

/** A local date (browser's zone) as the ISO instant of its midnight. */
export function startOfDay(date) {
  if (!date) return undefined;
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d).toISOString();
}

/** RFC 3339 with the device's own offset: "2026-01-12T08:01:30.250+01:00". */
export function isoWithOffset(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${localDate(date)}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

// --- times in a zone --------------------------------------------------------------------------

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "08:01" in the clock's time zone (the device's own if the zone is unknown). */
export function clockTime(iso, timeZone) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: timeZone || undefined })
      .format(date);
  } catch {
    return new Intl.DateTimeFormat("en-GB", options).format(date);
  }
}

const formatters = new Map();
function formatter(timeZone) {
  const key = timeZone || "";
  if (!formatters.has(key)) {
    const opts = { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
    let f;
    try {
      // The zone's name is shown only when it is not the browser's own.
      const named = timeZone && timeZone !== browserZone();
      f = new Intl.DateTimeFormat(undefined, timeZone ? { ...opts, timeZone, ...(named ? { timeZoneName: "short" } : {}) } : opts);
    } catch {
      f = new Intl.DateTimeFormat(undefined, opts);
    }
    formatters.set(key, f);
  }
  return formatters.get(key);
}

/** "Jan 12, 2026, 8:01 AM" in the zone given (the clock's/site's), else the browser's; the
 * zone's abbreviation is added when it differs from the browser's. */
export function inZone(iso, timeZone) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(timeZone).format(d);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** "Jan 12, 2026, 8:01 AM" (medium date, short time), in `timeZone` when it is a known zone. */
export function formatDateTime(iso, timeZone) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (timeZone) {
    try {
      return new Intl.DateTimeFormat(undefined, {
        dateStyle: "medium",
        timeStyle: "short",
        timeZone,
      }).format(d);
    } catch {
      /* an unknown zone: the browser's own */
    }
  }
  return dateTime.format(d);
}

/** "Jan 12, 2026". */
export function formatDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateOnly.format(d);
}

/** A calendar day (YYYY-MM-DD) as a row heading: "Mon, Jan 12, 2026". */
export function dayLabel(date) {
  return new Date(`${date}T12:00:00`).toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" });
}

// --- wall times that carry their own offset ("…T08:01:30+01:00") -------------------------------

/** The local time of an ISO string that carries its own offset: HH:MM. */
export function wallTime(localIso) {
  if (!localIso) return "—";
  const m = /T(\d{2}:\d{2})/.exec(localIso);
  return m ? m[1] : localIso;
}

/** "2026-01-12T08:01:30+01:00" → "Jan 12, 2026, 08:01" (the wall time where it happened). */
export function localStamp(localIso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(localIso || "");
  if (!m) return localIso || "—";
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  const day = date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  return `${day}, ${m[4]}:${m[5]}`;
}

// --- <input type=datetime-local> in a zone ----------------------------------------------------

/** The numeric parts of a wall clock, 24 h. */
const WALL_CLOCK = { hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };

/** <input type=datetime-local> value (wall time in `zone`) → an ISO instant. */
export function zonedToIso(local, zone) {
  // local: "2026-01-12T08:00". Find the instant whose wall time in `zone` is `local`.
  const [d, t] = local.split("T");
  const [y, mo, da] = d.split("-").map(Number);
  const [h, mi] = t.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, da, h, mi);
  const offset = (at) => {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, ...WALL_CLOCK, second: "2-digit" })
      .formatToParts(new Date(at));
    const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
    return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second) - at;
  };
  let at = guess - offset(guess);
  at = guess - offset(at);
  return new Date(at).toISOString();
}

/** An instant shown as a datetime-local value in `zone`. */
export function isoToZoned(iso, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, ...WALL_CLOCK }).formatToParts(new Date(iso));
  const v = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return `${v.year}-${v.month}-${v.day}T${v.hour}:${v.minute}`;
}

// --- durations --------------------------------------------------------------------------------

const DAY_MS = 24 * 3600 * 1000;

/** Hours with two decimals ("7.50"); "—" when unknown. */
export function hours(h) {
  return h == null ? "—" : h.toFixed(2);
}

/** Whole days since an instant. */
export function daysSince(iso, now = Date.now()) {
  return Math.floor((now - new Date(iso).getTime()) / DAY_MS);
}

/** "just now", "5 min ago", "3 h ago", "4 days ago"; "never" when there is no instant. */
export function timeAgo(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours_ = Math.round(minutes / 60);
  if (hours_ < 48) return `${hours_} h ago`;
  return `${Math.round(hours_ / 24)} days ago`;
}
