// A worker's status and PIN state as badges and facts, on the list and the profile.
import { formatDate, formatDateTime } from "../../../shared/format.js";
import { Badge } from "../../ui.jsx";
import { pinLock } from "./pin-locks.js";

export const STATUSES = ["Pending", "Active", "Inactive"];
const STATUS_TONE = { Active: "ok", Pending: "warn", Inactive: "neutral" };

export function StatusBadge({ status }) {
  return <Badge tone={STATUS_TONE[status] || "neutral"}>{status}</Badge>;
}

/** Whether the worker's PIN is locked now (too many wrong tries), everywhere or at a clock. */
export function pinLocked(worker, now = new Date()) {
  return pinLock(worker, now) !== null;
}

export function PinSummary({ worker }) {
  if (!worker.pin_allowed) return <Badge>PIN not allowed</Badge>;
  if (pinLocked(worker)) return <Badge tone="danger">PIN locked</Badge>;
  if (worker.pin_set) return <Badge tone="ok">PIN set</Badge>;
  return <Badge>No PIN</Badge>;
}

export function PinFact({ worker }) {
  if (!worker.pin_allowed) return <span>Not allowed for this worker</span>;
  const lock = pinLock(worker);
  if (lock) return <span>Locked{lock.everywhere ? "" : " at a clock"} until {formatDateTime(lock.until)}</span>;
  if (worker.pin_set) return <span>Set {worker.pin_set_at ? `on ${formatDate(worker.pin_set_at)}` : ""}</span>;
  return <span>Not set</span>;
}
