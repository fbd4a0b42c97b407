// Shared by the Clocks, Punches, Timesheets, Reports and Audit pages: a form dialog (native
// <dialog>: focus trapped, Escape cancels) that stays open with what was typed when the API
// refuses, a copy button, time formatting in a given zone, friendlier field errors, CSV, and
// small loaders (workers, clocks) for pickers and filters.
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { get, whoAmI } from "../api.js";
import { Badge, Button, ErrorBanner } from "../ui.jsx";
import "./pages.css";

export const workerHref = (id) => `/manage/workers/${encodeURIComponent(id)}`;
export const clockHref = (id) => `/manage/clocks/${encodeURIComponent(id)}`;

/** A worker's name linked to their page, with the Employee ID beside it. */
export function WorkerLink({ id, name, employeeId }) {
  if (!id) return <span>—</span>;
  return (
    <span class="who-cell">
      <a href={workerHref(id)}>{name || employeeId || id}</a>
      {employeeId && <span class="muted small"> {employeeId}</span>}
    </span>
  );
}

/**
 * A modal form. `open` controls it; onClose is called on Cancel/Escape. The dialog is only
 * closed by the caller (after a successful save), so a refused save keeps everything typed.
 */
export function FormDialog({ open, title, onClose, onSubmit, submitLabel, busy, error, children, variant = "primary", describe }) {
  const ref = useRef(null);
  const titleId = useId();
  const descId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      class="dialog dialog-form"
      aria-labelledby={titleId}
      aria-describedby={describe ? descId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            onSubmit();
          }}
        >
          <h2 id={titleId}>{title}</h2>
          {describe && <p id={descId}>{describe}</p>}
          <ErrorBanner error={error} />
          <div class="stack">{children}</div>
          <div class="dialog-actions">
            <button class="btn btn-secondary" type="button" onClick={onClose}>
              Cancel
            </button>
            <Button type="submit" variant={variant} busy={busy}>
              {submitLabel}
            </Button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export function CopyButton({ text, label = "Copy" }) {
  const [done, setDone] = useState(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } catch {
      setDone("Copy failed: select the text and copy it by hand");
    }
  };
  return (
    <span class="copy">
      <button class="btn btn-secondary" type="button" onClick={copy}>
        {label}
      </button>
      <span role="status" class="muted small">
        {done || ""}
      </span>
    </span>
  );
}

/**
 * The API's validation messages are pydantic's ("String should match pattern …"); where we know
 * the rule of a field, say it in words instead.
 */
export function friendly(message, rule) {
  if (!message) return null;
  if (rule && /^(String should|Input should|Field required|Value error|value is not)/i.test(message)) return rule;
  return message;
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

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The local time of an ISO string that carries its own offset ("…T08:01:30+01:00"): HH:MM. */
export function wallTime(localIso) {
  if (!localIso) return "—";
  const m = /T(\d{2}:\d{2})/.exec(localIso);
  return m ? m[1] : localIso;
}

/** <input type=datetime-local> value (wall time in `zone`) → an ISO instant with offset. */
export function zonedToIso(local, zone) {
  // local: "2026-01-12T08:00". Find the instant whose wall time in `zone` is `local`.
  const [d, t] = local.split("T");
  const [y, mo, da] = d.split("-").map(Number);
  const [h, mi] = t.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, da, h, mi);
  const offset = (at) => {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(at));
    const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
    return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second) - at;
  };
  let at = guess - offset(guess);
  at = guess - offset(at);
  return new Date(at).toISOString();
}

/** An instant shown as a datetime-local value in `zone`. */
export function isoToZoned(iso, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date(iso));
  const v = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return `${v.year}-${v.month}-${v.day}T${v.hour}:${v.minute}`;
}

/** Today's date (YYYY-MM-DD) in the browser's zone, `days` away. */
export function isoDate(days = 0) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A local date (browser's zone) as the ISO instant of its midnight. */
export function startOfDay(date) {
  if (!date) return undefined;
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d).toISOString();
}

export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  const next = new Date(y, m - 1, d + days);
  const p = (n) => String(n).padStart(2, "0");
  return `${next.getFullYear()}-${p(next.getMonth() + 1)}-${p(next.getDate())}`;
}

const FORMULA = /^[=+\-@\t\r]/;
function cell(value) {
  let s = value === null || value === undefined ? "" : String(value);
  if (FORMULA.test(s)) s = `'${s}`; // never a formula in a spreadsheet
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header, rows) {
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

export function saveText(text, name, type = "text/csv;charset=utf-8") {
  const href = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}

/** Every worker (paged 200 at a time, up to 2,000) for pickers and filters. */
export async function loadAllWorkers() {
  const all = [];
  for (let offset = 0; offset < 2000; offset += 200) {
    const page = await get("/workers", { limit: 200, offset });
    all.push(...page.data);
    if (all.length >= page.count || page.data.length === 0) break;
  }
  return all;
}

/** The signed-in admin ({role, site_ids, …}), asked once per sign-in; null until known. */
export function useMe() {
  const [me, setMe] = useState(null);
  useEffect(() => {
    whoAmI().then(setMe, () => {});
  }, []);
  return me;
}

const CLOCK_STATUS = {
  online: ["ok", "Online"],
  offline: ["warn", "Offline"],
  never_seen: ["neutral", "Never seen"],
  revoked: ["danger", "Revoked"],
};

/** A clock's liveness as device-sync reports it. */
export function ClockStatus({ status }) {
  const [tone, text] = CLOCK_STATUS[status] || ["neutral", status];
  return <Badge tone={tone}>{text}</Badge>;
}

export async function loadClocks() {
  return (await get("/clocks")).data;
}

/** The list of time zones the browser knows, for a <datalist>. */
export function timeZones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/London", "Europe/Madrid", "Europe/Berlin", "America/New_York"];
  }
}

/** A table's "nothing here" row content. */
export function Empty({ children }) {
  return <p class="empty">{children}</p>;
}
