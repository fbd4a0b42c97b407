// Shared by the portal's pages: a form dialog (native <dialog>: focus trapped, Escape cancels)
// that stays open with what was typed when the API refuses, a copy button, friendlier field
// errors, CSV, the time-zone list, and small loaders (workers, clocks) for pickers and
// filters. Dates and times: src/shared/format.js.
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { client } from "../api.js";
import { Badge, Button, ErrorBanner, saveBlob } from "../ui.jsx";
import "./pages.css";

export const workerHref = (id) => `/manage/workers/${encodeURIComponent(id)}`;
export const clockHref = (id) => `/manage/clocks/${encodeURIComponent(id)}`;

/** A page's path with the values that are set as its query ("?q=ana&status=Active"). */
export function withQuery(path, values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) q.set(k, v);
  const qs = q.toString();
  return `${path}${qs ? `?${qs}` : ""}`;
}

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
 * The API's validation messages are pydantic's ("String should be at most 200 characters"), or a
 * pattern's meaning ("Input should be an e-mail address"); where we know the rule of a field,
 * say it in our words instead.
 */
export function friendly(message, rule) {
  if (!message) return null;
  if (rule && /^(String should|Input should|Field required|Value error|value is not)/i.test(message)) return rule;
  return message;
}

export function saveText(text, name, type = "text/csv;charset=utf-8") {
  saveBlob(new Blob([text], { type }), name);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The distinct well-formed ids among `ids` (falsy and malformed ones dropped). */
export function idsToAsk(ids) {
  return [...new Set(ids.filter((id) => id && UUID.test(id)).map((id) => id.toLowerCase()))];
}

/** The items of these ids that the admin may see, by id, `per` ids a request: the names beside
 * a page (`GET /workers?worker_id=…`, `GET /clocks?clock_id=…`), not the tenant's every item. */
export async function loadById(list, key, ids, per) {
  const asked = idsToAsk(ids);
  const found = {};
  for (let at = 0; at < asked.length; at += per) {
    const chunk = asked.slice(at, at + per);
    const page = await list({ query: { [key]: chunk, limit: chunk.length } });
    for (const item of page.data) found[item.id] = item;
  }
  return found;
}

/** Workers by id (200 a request: the workers list's largest page). */
export function loadWorkersById(ids, list = client.listWorkers) {
  return loadById(list, "worker_id", ids, 200);
}

/** Clocks by id (500 a request). */
export function loadClocksById(ids, list = client.listClocks) {
  return loadById(list, "clock_id", ids, 500);
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

/** The list of time zones the browser knows, for a <datalist>. */
export function timeZones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/London", "Europe/Madrid", "Europe/Berlin", "America/New_York"];
  }
}

/** The <datalist> of time zones a Time zone field names in its `list`. */
export function TimeZoneList({ id }) {
  return (
    <datalist id={id}>
      {timeZones().map((z) => (
        <option value={z} key={z} />
      ))}
    </datalist>
  );
}

/** A table's "nothing here" row content. */
export function Empty({ children }) {
  return <p class="empty">{children}</p>;
}

/** The punch's evidence photo (issue 17), fetched with the session's token when asked for:
 * biometric data, so only sysadmins and managers get it (a viewer is told so). */
export function EvidencePhoto({ attemptId, name }) {
  const [state, setState] = useState({ url: null, error: null, busy: false });
  useEffect(() => () => state.url && URL.revokeObjectURL(state.url), [state.url]);
  if (state.url) return <img class="evidence-photo" src={state.url} alt={`Photo at the punch of ${name}`} width="160" />;
  const show = async () => {
    setState({ url: null, error: null, busy: true });
    try {
      const response = await client.evidencePhoto(attemptId, { raw: true });
      setState({ url: URL.createObjectURL(await response.blob()), error: null, busy: false });
    } catch (error) {
      const text = error?.status === 403 ? "Photos are for administrators and managers" : "No photo kept";
      setState({ url: null, error: text, busy: false });
    }
  };
  return (
    <div>
      <Button type="button" busy={state.busy} onClick={show}>
        Show photo<span class="sr-only"> of {name}</span>
      </Button>
      {state.error && <div class="muted small">{state.error}</div>}
    </div>
  );
}
