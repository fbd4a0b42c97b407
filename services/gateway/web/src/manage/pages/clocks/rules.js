// The Clocks pages' words and small rules (pure): what a field must hold, what a command and
// its result are called, how a worker is found by the Employee ID typed.
import { returnCodeText } from "./zk.js";

/** Said in place of pydantic's message when the API refuses a field (common.jsx, friendly). */
export const RULES = {
  serial_number: "Use 1–64 letters, digits or . _ : - (no spaces).",
  name: "Give the clock a name (up to 200 characters).",
  site_id: "Up to 200 characters.",
  time_zone: "Use an IANA time zone such as Europe/Madrid.",
  com_key: "Use 1–64 letters, digits or . _ - (no spaces), as set on the device.",
};

export const KINDS = {
  UPSERT_WORKER: "Add or update worker",
  REMOVE_WORKER: "Remove worker",
  FULL_RESYNC: "Full resync",
  UPSERT_TEMPLATES: "Send fingerprints and faces",
  DELETE_TEMPLATES: "Delete fingerprints and faces",
  QUERY_PUNCHES: "Fetch missing punches",
};

/** A command's state as [badge tone, text]: acknowledged, failed (the clock's return code and
 * its meaning, zk.js), or not yet. */
export function commandState(command, clockStatus) {
  if (command.acked_at) {
    if (command.result_code === 0) return ["ok", "Acknowledged"];
    return ["danger", `Failed (${returnCodeText(command.result_code)})`];
  }
  if (clockStatus === "revoked") return ["neutral", "Not delivered"];
  if (clockStatus === "online") return ["info", "Sent"];
  return ["warn", "Waiting for the clock"];
}

/** How a worker is on a clock: "assigned", "site rule" or both. */
export function sourcesText(sources) {
  return sources.map((s) => (s === "site_rule" ? "site rule" : "assigned")).join(", ");
}

export function workerStatusTone(status) {
  return status === "Active" ? "ok" : status === "Inactive" ? "danger" : "neutral";
}

/** The worker whose Employee ID is `typed`: exactly, else ignoring case; null if none. */
export function findByEmployeeId(workers, typed) {
  return (
    workers.find((w) => w.employee_id === typed) ||
    workers.find((w) => w.employee_id.toLowerCase() === typed.toLowerCase()) ||
    null
  );
}

/** What the clock's page says once a worker was added by Employee ID: `answer` is the PUT's
 * (how many assignments it made), so a worker assigned to the clock already (the suggestions
 * leave out only the roster page shown) is told so, not that they may "now" use it. */
export function addedNotice(name, answer) {
  return answer?.assigned === 0 ? `${name} was already assigned to this clock.` : `${name} may now use this clock.`;
}

/** Names by worker id, for the commands list: the workers identity named, then the clock's own rows. */
export function namesById(known, assigned) {
  return Object.fromEntries([
    ...known.map((w) => [w.id, { display_name: w.name, employee_id: w.employee_id }]),
    ...assigned.map((w) => [w.worker_id, w]),
  ]);
}
