// What the Punches page asks the API and writes to CSV (pure): the filters as GET /punches
// parameters (the "to" date inclusive: up to the next midnight), and one CSV row per punch.
import { addDays, localDate, startOfDay } from "../../../shared/format.js";
import { toCsv } from "../../csv.js";

export const KEYS = ["worker_id", "clock_id", "site_id", "from", "to"];
export const PAGE = 100;

export function query(filters, cursor, limit = PAGE) {
  return {
    worker_id: filters.worker_id,
    clock_id: filters.clock_id,
    site_id: filters.site_id,
    from: startOfDay(filters.from),
    to: filters.to ? startOfDay(addDays(filters.to, 1)) : undefined,
    limit,
    cursor,
  };
}

/** The Punches page for a worker's day around one punch. The page reads its dates as days in
 * the browser's zone, so the day is the punch's day there (not the clock's, which can be
 * another date near midnight). */
export function punchesOfDayHref(workerId, punchedAt) {
  const day = localDate(new Date(punchedAt));
  return `/manage/punches?worker_id=${encodeURIComponent(workerId)}&from=${day}&to=${day}`;
}

export function csvOf(punches, clockNames) {
  const header = [
    "punch_id", "worker_id", "employee_id", "display_name", "direction", "local_time", "time_zone",
    "utc_time", "method", "face_distance", "face_threshold", "clock", "site_id", "captured_offline",
    "needs_review", "kind", "replaces_punch_id", "reason", "voided", "void_reason",
    "device_verify_mode", "device_state",
  ];
  const rows = punches.map((p) => [
    p.id, p.worker_id, p.employee_id, p.display_name, p.direction, p.local_time, p.time_zone,
    p.punched_at, p.method, p.face?.distance ?? "", p.face?.threshold ?? "",
    p.clock_id ? clockNames[p.clock_id] || p.clock_id : "", p.site_id, p.captured_offline,
    Boolean(p.needs_review), p.kind, p.replaces_punch_id || "", p.reason || "", p.voided,
    p.void_reason || "", p.device_verify_mode ?? "", p.device_state ?? "",
  ]);
  return toCsv(header, rows);
}

/** A name for one correction, sent as its Idempotency-Key: a dialog's retries and a second
 * click add or replace once (docs/punch.md). 32 hex digits from getRandomValues, which, unlike
 * crypto.randomUUID, a portal served over plain HTTP on a site's network has too. */
export function correctionKey(random = globalThis.crypto) {
  return Array.from(random.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
