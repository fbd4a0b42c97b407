// Workers: the list (search, status filter), a worker's profile (facts, face enrolment, clocks
// with their sync state), the new-worker form and the Edit page with PIN Management.
import { useEffect, useState } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso";
import { api, get } from "../api.js";
import {
  Badge,
  Button,
  ConfirmButton,
  ErrorBanner,
  Loading,
  Notice,
  Page,
  SelectField,
  Switch,
  TextField,
  formatDate,
  formatDateTime,
  useAction,
  useLoad,
} from "../ui.jsx";
import { useMe } from "./common.jsx";
import { FaceSection } from "./face.jsx";
import { WorkerClocks } from "./worker-clocks.jsx";

const STATUSES = ["Pending", "Active", "Inactive"];
const STATUS_TONE = { Active: "ok", Pending: "warn", Inactive: "neutral" };
const PAGE_SIZE = 50;

export function StatusBadge({ status }) {
  return <Badge tone={STATUS_TONE[status] || "neutral"}>{status}</Badge>;
}

function pinLocked(worker) {
  return worker.pin_locked_until && new Date(worker.pin_locked_until) > new Date();
}

function PinSummary({ worker }) {
  if (!worker.pin_allowed) return <Badge>PIN not allowed</Badge>;
  if (pinLocked(worker)) return <Badge tone="danger">PIN locked</Badge>;
  if (worker.pin_set) return <Badge tone="ok">PIN set</Badge>;
  return <Badge>No PIN</Badge>;
}

// --- the list ---------------------------------------------------------------------------

export function Workers() {
  const { query, route } = useLocation();
  const search = query.q || "";
  const status = query.status || "";
  const offset = Number(query.offset || 0);
  const [typed, setTyped] = useState(search);
  const list = useLoad(
    () => get("/workers", { search, status, offset, limit: PAGE_SIZE }),
    [search, status, offset],
  );
  const enrolled = useLoad(
    () => get("/face/enrolments").then((r) => new Set((r.items || []).map((i) => i.worker_id))),
    [],
  );

  const go = (changes) => {
    const next = { q: search, status, offset: 0, ...changes };
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) params.set(k, v);
    const qs = params.toString();
    route(`/manage/workers${qs ? `?${qs}` : ""}`, true);
  };
  // Search as the admin types, after a short pause.
  useEffect(() => {
    if (typed === search) return undefined;
    const timer = setTimeout(() => go({ q: typed.trim() }), 300);
    return () => clearTimeout(timer);
  }, [typed]);

  const count = list.data?.count ?? 0;
  return (
    <Page
      title="Workers"
      actions={
        <a class="btn btn-primary" href="/manage/workers/new">
          Add worker
        </a>
      }
    >
      <form class="row card" role="search" onSubmit={(e) => (e.preventDefault(), go({ q: typed.trim() }))}>
        <TextField
          label="Search"
          type="search"
          placeholder="Name or Employee ID"
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => go({ status: e.currentTarget.value })}
          options={[["", "All statuses"], ...STATUSES.map((s) => [s, s])]}
        />
      </form>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="Loading workers" />
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Workers</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Employee ID</th>
                <th scope="col">Job title</th>
                <th scope="col">Status</th>
                <th scope="col">Face</th>
                <th scope="col">PIN</th>
              </tr>
            </thead>
            <tbody>
              {(list.data?.data || []).map((w) => (
                <tr key={w.id}>
                  <td>
                    <a href={`/manage/workers/${w.id}`}>{w.name}</a>
                  </td>
                  <td>{w.employee_id}</td>
                  <td>{w.job_title || "—"}</td>
                  <td>
                    <StatusBadge status={w.status} />
                  </td>
                  <td>{enrolled.data?.has(w.id) ? <Badge tone="ok">Enrolled</Badge> : "—"}</td>
                  <td>
                    <PinSummary worker={w} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {count === 0 && (
            <p class="empty">
              {search || status ? "No workers match these filters." : "No workers yet. Add the first one."}
            </p>
          )}
        </div>
      )}
      {count > PAGE_SIZE && (
        <nav class="row" aria-label="Pages">
          <Button variant="secondary" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE_SIZE) })}>
            Previous
          </Button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE_SIZE, count)} of {count}
          </span>
          <Button
            variant="secondary"
            disabled={offset + PAGE_SIZE >= count}
            onClick={() => go({ offset: offset + PAGE_SIZE })}
          >
            Next
          </Button>
        </nav>
      )}
    </Page>
  );
}

// --- details form (new and edit) -----------------------------------------------------------

function DetailsForm({ initial, submitLabel, onSubmit, showStatus = true }) {
  const [form, setForm] = useState({
    name: initial.name || "",
    employee_id: initial.employee_id || "",
    job_title: initial.job_title || "",
    site_id: initial.site_id || "",
    status: initial.status || "Pending",
  });
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const set = (key) => (e) => {
    setSaved(false);
    setForm({ ...form, [key]: e.currentTarget.value });
  };
  const submit = async (e) => {
    e.preventDefault();
    try {
      await action.run(() => onSubmit(form));
      setSaved(true);
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
  };
  return (
    <form class="stack" onSubmit={submit} noValidate>
      <ErrorBanner error={action.generalError} />
      <TextField label="Name" required value={form.name} onInput={set("name")} error={action.fieldError("name")} autoComplete="off" />
      <TextField
        label="Employee ID"
        hint="The badge number the worker types at the kiosk: letters, digits, - or _"
        required
        value={form.employee_id}
        onInput={set("employee_id")}
        error={action.fieldError("employee_id")}
        autoComplete="off"
      />
      <TextField label="Job title" value={form.job_title} onInput={set("job_title")} error={action.fieldError("job_title")} />
      <TextField label="Site" value={form.site_id} onInput={set("site_id")} error={action.fieldError("site_id")} />
      {showStatus && (
        <SelectField
          label="Status"
          value={form.status}
          onChange={set("status")}
          error={action.fieldError("status")}
          options={STATUSES.map((s) => [s, s])}
        />
      )}
      <div class="row">
        <Button type="submit" busy={action.busy}>
          {submitLabel}
        </Button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}

export function WorkerNew() {
  const { route } = useLocation();
  return (
    <Page title="Add worker" back={<a class="back" href="/manage/workers">← Workers</a>}>
      <div class="card">
        <DetailsForm
          initial={{}}
          submitLabel="Add worker"
          onSubmit={async (form) => {
            const worker = await api("POST", "/workers", { json: form });
            route(`/manage/workers/${worker.id}`);
          }}
        />
      </div>
    </Page>
  );
}

// --- profile ------------------------------------------------------------------------------

function useWorker(id) {
  return useLoad(() => get(`/workers/${id}`), [id]);
}

function PinFact({ worker }) {
  if (!worker.pin_allowed) return <span>Not allowed for this worker</span>;
  if (pinLocked(worker)) return <span>Locked until {formatDateTime(worker.pin_locked_until)}</span>;
  if (worker.pin_set) return <span>Set {worker.pin_set_at ? `on ${formatDate(worker.pin_set_at)}` : ""}</span>;
  return <span>Not set</span>;
}

export function WorkerProfile() {
  const { params } = useRoute();
  const worker = useWorker(params.id);
  const face = useLoad(() => get(`/workers/${params.id}/face`), [params.id]);
  const back = (
    <a class="back" href="/manage/workers">
      ← Workers
    </a>
  );
  if (worker.error) {
    return (
      <Page title="Worker" back={back}>
        <ErrorBanner error={worker.error} />
      </Page>
    );
  }
  if (!worker.data) return <Loading what="Loading the worker" />;
  const w = worker.data;
  return (
    <Page
      title={w.name}
      back={back}
      actions={
        <a class="btn btn-primary" href={`/manage/workers/${w.id}/edit`}>
          Edit
        </a>
      }
    >
      <p class="subtitle">
        <span>{w.employee_id}</span>
        {w.job_title && <span> · {w.job_title}</span>} <StatusBadge status={w.status} />
      </p>
      <div class="grid2">
        <section class="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl class="facts">
            <dt>Employee ID</dt>
            <dd>{w.employee_id}</dd>
            <dt>Job title</dt>
            <dd>{w.job_title || "—"}</dd>
            <dt>Site</dt>
            <dd>{w.site_id || "—"}</dd>
            <dt>Status</dt>
            <dd>{w.status}</dd>
            <dt>Face enrolled</dt>
            <dd>{face.data ? (face.data.enrolled ? "Yes" : "No") : "…"}</dd>
            <dt>PIN</dt>
            <dd>
              <PinFact worker={w} />
            </dd>
          </dl>
        </section>
        <FaceSection worker={w} face={face} />
      </div>
      <WorkerClocks worker={w} />
    </Page>
  );
}

// --- edit, with PIN Management --------------------------------------------------------------

export function WorkerEdit() {
  const { params } = useRoute();
  const worker = useWorker(params.id);
  const [current, setCurrent] = useState(null);
  useEffect(() => setCurrent(worker.data), [worker.data]);
  const back = (
    <a class="back" href={`/manage/workers/${params.id}`}>
      ← {current ? current.name : "Worker"}
    </a>
  );
  if (worker.error) {
    return (
      <Page title="Edit worker" back={back}>
        <ErrorBanner error={worker.error} />
      </Page>
    );
  }
  if (!current) return <Loading what="Loading the worker" />;
  return (
    <Page title={`Edit ${current.name}`} back={back}>
      <div class="grid2">
        <section class="card" aria-labelledby="details-h">
          <h2 id="details-h">Details</h2>
          <DetailsForm
            initial={current}
            submitLabel="Save changes"
            onSubmit={async (form) => {
              const changes = {};
              for (const [k, v] of Object.entries(form)) if (v !== current[k]) changes[k] = v;
              if (Object.keys(changes).length === 0) return;
              setCurrent(await api("PATCH", `/workers/${current.id}`, { json: changes }));
            }}
          />
        </section>
        <PinManagement worker={current} onChange={setCurrent} />
      </div>
    </Page>
  );
}

function PinManagement({ worker, onChange }) {
  const [pin, setPin] = useState("");
  const [generated, setGenerated] = useState(null);
  const [done, setDone] = useState(null);
  const role = useMe()?.role;
  const action = useAction();
  const act = async (fn, message) => {
    setDone(null);
    try {
      const result = await action.run(fn);
      setDone(message);
      return result;
    } catch {
      return null;
    }
  };
  const setPinSubmit = async (e) => {
    e.preventDefault();
    setGenerated(null);
    const updated = await act(() => api("PUT", `/workers/${worker.id}/pin`, { json: { pin } }), "PIN saved.");
    if (updated) {
      setPin("");
      onChange(updated);
    }
  };
  const generate = async () => {
    const answer = await act(() => api("POST", `/workers/${worker.id}/pin/generate`), null);
    if (answer) {
      setGenerated(answer.pin);
      onChange(answer.worker);
    }
  };
  const remove = async () => {
    setGenerated(null);
    const updated = await act(() => api("DELETE", `/workers/${worker.id}/pin`), "PIN removed.");
    if (updated) onChange(updated);
  };
  const unlock = async () => {
    const updated = await act(() => api("POST", `/workers/${worker.id}/pin/unlock`), "PIN unlocked.");
    if (updated) onChange(updated);
  };
  const allow = async (allowed) => {
    const updated = await act(
      () => api("PUT", `/workers/${worker.id}/pin-allowed`, { json: { allowed } }),
      allowed ? "PIN use allowed." : "PIN use turned off for this worker.",
    );
    if (updated) onChange(updated);
  };
  const sysadmin = role === "sysadmin";
  return (
    <section class="card stack" aria-labelledby="pin-h">
      <h2 id="pin-h">PIN Management</h2>
      {worker.pin_set && (
        <Notice tone="ok">
          PIN is currently set{worker.pin_set_at ? ` (since ${formatDate(worker.pin_set_at)})` : ""}.
        </Notice>
      )}
      {pinLocked(worker) && (
        <div class="banner banner-warn row" role="status">
          <span>PIN locked after too many wrong tries, until {formatDateTime(worker.pin_locked_until)}.</span>
          {sysadmin && (
            <Button variant="secondary" type="button" busy={action.busy} onClick={unlock}>
              Unlock PIN
            </Button>
          )}
        </div>
      )}
      {role && !sysadmin && <Notice>Only a system administrator can change PINs.</Notice>}
      <ErrorBanner error={action.generalError} />
      {done && <p role="status">{done}</p>}
      {generated && (
        <div class="banner banner-info stack" role="status">
          <p>
            New PIN for {worker.name} — give it to them now. It is shown once and cannot be shown
            again:
          </p>
          <p class="secret" aria-label={`PIN ${generated.split("").join(" ")}`}>
            {generated}
          </p>
          <div>
            <Button variant="secondary" type="button" onClick={() => setGenerated(null)}>
              Done, hide it
            </Button>
          </div>
        </div>
      )}
      <form class="stack" onSubmit={setPinSubmit} noValidate>
        <TextField
          label="PIN"
          hint="Enter a 4–6 digit PIN for this worker to use at the kiosk"
          type="password"
          inputMode="numeric"
          autoComplete="new-password"
          maxLength={6}
          value={pin}
          disabled={!sysadmin || !worker.pin_allowed}
          onInput={(e) => setPin(e.currentTarget.value.replace(/\D/g, ""))}
          error={action.fieldError("pin")}
        />
        <div class="row">
          <Button type="submit" busy={action.busy} disabled={!sysadmin || !worker.pin_allowed || pin.length === 0}>
            Set PIN
          </Button>
          <Button type="button" variant="secondary" busy={action.busy} disabled={!sysadmin || !worker.pin_allowed} onClick={generate}>
            Generate PIN
          </Button>
          {worker.pin_set && sysadmin && (
            <RemovePin worker={worker} busy={action.busy} onConfirm={remove} />
          )}
        </div>
      </form>
      <PinAllowed worker={worker} disabled={!sysadmin || action.busy} onChange={allow} />
    </section>
  );
}

function RemovePin({ worker, busy, onConfirm }) {
  return (
    <ConfirmButton
      label="Remove PIN"
      title="Remove PIN?"
      message={`${worker.name} will not be able to clock in with a PIN until a new one is set.`}
      confirmLabel="Remove PIN"
      busy={busy}
      onConfirm={onConfirm}
    />
  );
}

function PinAllowed({ worker, disabled, onChange }) {
  return (
    <div>
      <Switch label="PIN allowed" checked={worker.pin_allowed} disabled={disabled} onChange={onChange} />
      <p class="hint">When off, this worker can only clock in by face.</p>
    </div>
  );
}
