// Punches: the ledger as recorded (docs/punch.md), filtered by worker, clock, site and dates,
// with each punch's method and score, offline, "Needs review" (an offline punch captured
// long before it was received) and correction marks, and corrections with a
// reason: add a missed punch, void, replace. Times are in the zone of the clock/site where the
// punch was made (the ledger keeps it with each punch). CSV is made here (the API has none).
import { useEffect, useState } from "preact/hooks";
import { api, get } from "../api.js";
import { Badge, Button, ErrorBanner, Loading, Notice, Page, SelectField, TextField, useAction, useLoad } from "../ui.jsx";
import {
  Empty,
  FormDialog,
  WorkerLink,
  addDays,
  browserZone,
  clockHref,
  friendly,
  inZone,
  isoToZoned,
  loadAllWorkers,
  loadClocks,
  saveText,
  startOfDay,
  timeZones,
  toCsv,
  useMe,
  zonedToIso,
} from "./common.jsx";
import { FilterBar, useFilters } from "./filters.jsx";

const KEYS = ["worker_id", "clock_id", "site_id", "from", "to"];
const PAGE = 100;
const REASON_RULE = "Give a reason of at least 3 characters.";

function query(filters, cursor, limit = PAGE) {
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

const METHOD = { FACE: "Face", PIN: "PIN", MANUAL: "Manual" };

export function Method({ punch }) {
  const f = punch.face;
  return (
    <div>
      <Badge tone={punch.method === "FACE" ? "info" : punch.method === "PIN" ? "neutral" : "warn"}>
        {METHOD[punch.method] || punch.method}
      </Badge>
      {f && (
        <div class="score small">
          distance {f.distance.toFixed(3)}
          {f.threshold != null && <> of {f.threshold.toFixed(3)}</>}
          {f.margin != null && <>, margin {f.margin.toFixed(3)}</>}
          {f.one_to_one && <>, 1:1 check</>}
          {f.model && <div class="muted">{f.model}</div>}
        </div>
      )}
    </div>
  );
}

function Marks({ punch, admins }) {
  const who = (id) => (id && admins[id] ? ` by ${admins[id]}` : "");
  return (
    <div class="marks-cell">
      <div class="marks">
        {punch.voided && <Badge tone="danger">Voided</Badge>}
        {punch.captured_offline && <Badge tone="warn">Captured offline</Badge>}
        {punch.needs_review && <Badge tone="danger">Needs review</Badge>}
        {punch.direction_inferred && <Badge tone="neutral">Direction inferred</Badge>}
        {punch.kind === "CORRECTION" && (
          <Badge tone="info">{punch.replaces_punch_id ? "Replacement" : "Added by admin"}</Badge>
        )}
      </div>
      {punch.kind === "CORRECTION" && punch.reason && (
        <div class="small">
          Reason{who(punch.admin_id)}: {punch.reason}
        </div>
      )}
      {punch.voided && (
        <div class="small">
          Voided {inZone(punch.voided_at, punch.time_zone)}
          {punch.void_reason ? `: ${punch.void_reason}` : ""}
        </div>
      )}
      {punch.captured_offline && punch.received_at && (
        <div class="small muted">received {inZone(punch.received_at, punch.time_zone)}</div>
      )}
    </div>
  );
}

function Direction({ value }) {
  return <Badge tone={value === "IN" ? "ok" : "info"}>{value}</Badge>;
}

/** Add a missed punch, or replace / void one. `mode`: "add" | "replace" | "void". */
function CorrectionDialog({ mode, punch, workers, clocks, onClose, onDone }) {
  const zoneOf = (clockId) => clocks.find((c) => c.id === clockId)?.time_zone;
  const initial = () => {
    if (mode === "add") {
      const zone = browserZone();
      return { worker_id: "", direction: "IN", at: isoToZoned(new Date().toISOString(), zone), clock_id: "", time_zone: zone, reason: "" };
    }
    return {
      direction: punch.direction,
      at: isoToZoned(punch.punched_at, punch.time_zone),
      reason: "",
    };
  };
  const [form, setForm] = useState(initial);
  const [local, setLocal] = useState({});
  const action = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const zone = mode === "add" ? zoneOf(form.clock_id) || form.time_zone : punch?.time_zone;
  const apiField = (k) => {
    const m = action.fieldError(k);
    return k === "reason" ? friendly(m, REASON_RULE) : friendly(m, k === "time_zone" ? "Use an IANA time zone such as Europe/Madrid." : null);
  };
  const err = (k) => local[k] || apiField(k);

  const submit = async () => {
    const problems = {};
    if (form.reason.trim().length === 0) problems.reason = "Give a reason.";
    if (mode === "add" && !form.worker_id) problems.worker_id = "Choose the worker.";
    if (mode !== "void" && !form.at) problems.punched_at = "Give the date and time.";
    setLocal(problems);
    if (Object.keys(problems).length) return;
    let punchedAt;
    if (mode !== "void") {
      try {
        punchedAt = zonedToIso(form.at, zone);
      } catch {
        setLocal({ time_zone: "Use an IANA time zone such as Europe/Madrid." });
        return;
      }
    }
    try {
      const result = await action.run(() => {
        if (mode === "void") return api("POST", `/punches/${punch.id}/void`, { json: { reason: form.reason } });
        if (mode === "replace") {
          const json = { reason: form.reason, direction: form.direction };
          if (punchedAt !== new Date(punch.punched_at).toISOString()) json.punched_at = punchedAt;
          return api("POST", `/punches/${punch.id}/replace`, { json });
        }
        const json = { worker_id: form.worker_id, direction: form.direction, punched_at: punchedAt, reason: form.reason };
        if (form.clock_id) json.clock_id = form.clock_id;
        else json.time_zone = form.time_zone;
        return api("POST", "/punches", { json });
      });
      onDone(result);
    } catch {
      /* next to its field, or in the dialog's banner; the dialog keeps what was typed */
    }
  };

  const title = { add: "Add a missed punch", replace: "Replace punch", void: "Void punch" }[mode];
  const describe =
    mode === "void"
      ? `${punch.display_name}, ${punch.direction} at ${inZone(punch.punched_at, punch.time_zone)}. The punch stays in the ledger, marked voided, and stops counting.`
      : mode === "replace"
        ? `${punch.display_name}, ${punch.direction} at ${inZone(punch.punched_at, punch.time_zone)}. The original is voided and the corrected punch added, together.`
        : "A new ledger entry with your reason; the worker's timesheet counts it.";
  const timeHint = `In ${zone || "the browser's time zone"}.`;
  return (
    <FormDialog
      open
      title={title}
      describe={describe}
      submitLabel={{ add: "Add punch", replace: "Replace punch", void: "Void punch" }[mode]}
      variant={mode === "void" ? "danger" : "primary"}
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={submit}
    >
      {mode === "add" && (
        <SelectField
          label="Worker"
          value={form.worker_id}
          onChange={set("worker_id")}
          error={err("worker_id")}
          options={[["", "Choose a worker"], ...workers.map((w) => [w.id, `${w.name} (${w.employee_id})`])]}
        />
      )}
      {mode !== "void" && (
        <>
          <SelectField label="Direction" value={form.direction} onChange={set("direction")} error={err("direction")} options={[["IN", "IN"], ["OUT", "OUT"]]} />
          {mode === "add" && (
            <SelectField
              label="Clock"
              value={form.clock_id}
              onChange={set("clock_id")}
              error={err("clock_id")}
              options={[["", "No clock (give the time zone)"], ...clocks.map((c) => [c.id, `${c.name} (${c.time_zone})`])]}
            />
          )}
          {mode === "add" && !form.clock_id && (
            <TextField label="Time zone" value={form.time_zone} onInput={set("time_zone")} error={err("time_zone")} list="punch-zones" autoComplete="off" />
          )}
          <datalist id="punch-zones">
            {timeZones().map((z) => (
              <option value={z} key={z} />
            ))}
          </datalist>
          <TextField label="Date and time" type="datetime-local" hint={timeHint} value={form.at} onInput={set("at")} error={err("punched_at")} />
        </>
      )}
      <TextField multiline label="Reason" hint="Kept in the ledger with your name." value={form.reason} onInput={set("reason")} error={err("reason")} required />
    </FormDialog>
  );
}

function csvOf(punches, clockNames) {
  const header = [
    "punch_id", "worker_id", "employee_id", "display_name", "direction", "local_time", "time_zone",
    "utc_time", "method", "face_distance", "face_threshold", "clock", "site_id", "captured_offline",
    "needs_review", "kind", "replaces_punch_id", "reason", "voided", "void_reason",
  ];
  const rows = punches.map((p) => [
    p.id, p.worker_id, p.employee_id, p.display_name, p.direction, p.local_time, p.time_zone,
    p.punched_at, p.method, p.face?.distance ?? "", p.face?.threshold ?? "",
    p.clock_id ? clockNames[p.clock_id] || p.clock_id : "", p.site_id, p.captured_offline,
    Boolean(p.needs_review), p.kind, p.replaces_punch_id || "", p.reason || "", p.voided,
    p.void_reason || "",
  ]);
  return toCsv(header, rows);
}

export function Punches() {
  const filters = useFilters(KEYS);
  const key = JSON.stringify(filters);
  const me = useMe();
  const workers = useLoad(loadAllWorkers, []);
  const clocks = useLoad(loadClocks, []);
  const admins = useLoad(() => (me?.role === "sysadmin" ? get("/users", { limit: 200 }) : Promise.resolve(null)), [me?.role]);
  const first = useLoad(() => get("/punches", query(filters)), [key]);
  const [more, setMore] = useState({ rows: [], cursor: null });
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const loadMore = useAction();
  const csv = useAction();
  useEffect(() => setMore({ rows: [], cursor: first.data?.next_cursor || null }), [first.data]);

  const rows = [...(first.data?.data || []), ...more.rows];
  const clockList = clocks.data || [];
  const clockNames = Object.fromEntries(clockList.map((c) => [c.id, c.name]));
  const adminNames = Object.fromEntries((admins.data?.data || []).map((u) => [u.id, u.name]));
  const editor = me && me.role !== "viewer";

  const next = async () => {
    try {
      const page = await loadMore.run(() => get("/punches", query(filters, more.cursor)));
      setMore({ rows: [...more.rows, ...page.data], cursor: page.next_cursor });
    } catch {
      /* banner */
    }
  };
  const downloadCsv = async () => {
    try {
      await csv.run(async () => {
        const all = [];
        let cursor;
        do {
          const page = await get("/punches", query(filters, cursor, 1000));
          all.push(...page.data);
          cursor = page.next_cursor;
        } while (cursor && all.length < 100000);
        saveText(csvOf(all, clockNames), `punches_${filters.from}_${filters.to}.csv`);
      });
    } catch {
      /* banner */
    }
  };
  const done = (text) => (result) => {
    setDialog(null);
    setNotice(`${text}: ${result.display_name}, ${result.direction} at ${inZone(result.punched_at, result.time_zone)}.`);
    first.reload();
  };

  return (
    <Page
      title="Punches"
      actions={
        <>
          <Button type="button" variant="secondary" onClick={downloadCsv} busy={csv.busy}>
            Download CSV
          </Button>
          {editor && (
            <Button type="button" onClick={() => setDialog({ mode: "add" })} disabled={!workers.data || !clocks.data}>
              Add a missed punch
            </Button>
          )}
        </>
      }
    >
      <FilterBar path="/manage/punches" filters={filters} workers={workers.data} clocks={clockList} error={first.error} />
      {notice && <Notice tone="ok">{notice}</Notice>}
      <ErrorBanner error={(first.error && !first.error.field && first.error) || loadMore.error || csv.error || workers.error || clocks.error} />
      {first.loading && !first.data ? (
        <Loading what="Loading punches" />
      ) : (
        first.data && (
          <>
            <p class="muted small" role="status">
              {rows.length} punch{rows.length === 1 ? "" : "es"}
              {more.cursor ? " so far" : ""}, {filters.from} to {filters.to}. Times are local to the clock or site of each punch.
            </p>
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Punches</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Worker</th>
                    <th scope="col">In/Out</th>
                    <th scope="col">Method</th>
                    <th scope="col">Clock / site</th>
                    <th scope="col">Marks</th>
                    {editor && (
                      <th scope="col">
                        <span class="sr-only">Corrections</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((p) => (
                    <tr key={p.id} class={p.voided ? "voided" : undefined}>
                      <th scope="row" class="when">
                        {inZone(p.punched_at, p.time_zone)}
                      </th>
                      <td>
                        <WorkerLink id={p.worker_id} name={p.display_name} employeeId={p.employee_id} />
                      </td>
                      <td>
                        <Direction value={p.direction} />
                      </td>
                      <td>
                        <Method punch={p} />
                      </td>
                      <td>
                        {p.clock_id ? <a href={clockHref(p.clock_id)}>{clockNames[p.clock_id] || "Clock"}</a> : <span class="muted">no clock</span>}
                        {p.site_id && <div class="muted small">{p.site_id}</div>}
                      </td>
                      <td>
                        <Marks punch={p} admins={adminNames} />
                      </td>
                      {editor && (
                        <td class="actions">
                          {!p.voided && (
                            <div class="row-actions">
                              <Button type="button" variant="secondary" onClick={() => setDialog({ mode: "replace", punch: p })} aria-label={`Replace ${p.display_name}'s ${p.direction} at ${inZone(p.punched_at, p.time_zone)}`}>
                                Replace
                              </Button>
                              <Button type="button" variant="secondary" onClick={() => setDialog({ mode: "void", punch: p })} aria-label={`Void ${p.display_name}'s ${p.direction} at ${inZone(p.punched_at, p.time_zone)}`}>
                                Void
                              </Button>
                            </div>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
              {rows.length === 0 && <Empty>No punches match these filters.</Empty>}
            </div>
            {more.cursor && (
              <div class="pager">
                <Button type="button" variant="secondary" onClick={next} busy={loadMore.busy}>
                  Load more
                </Button>
              </div>
            )}
          </>
        )
      )}
      {dialog && (
        <CorrectionDialog
          mode={dialog.mode}
          punch={dialog.punch}
          workers={workers.data || []}
          clocks={clockList}
          onClose={() => setDialog(null)}
          onDone={done({ add: "Punch added", replace: "Punch replaced", void: "Punch voided" }[dialog.mode])}
        />
      )}
    </Page>
  );
}
