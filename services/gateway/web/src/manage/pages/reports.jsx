// Reports: PIN punches that suggest a shared PIN (punch's report, docs/punch.md) and PINs older
// than the tenant's policy (identity's stale-pins, docs/identity.md), each with links to the
// worker so the admin can act (remove or change the PIN).
import { useEffect, useState } from "preact/hooks";
import { client } from "../api.js";
import { daysSince, formatDate, isoDate, localStamp } from "../../shared/format.js";
import { Badge, Button, ErrorBanner, Loading, Notice, TextField, Page, Pager, useAction, useLoad, useMe } from "../ui.jsx";
import { punchesOfDayHref } from "./punches/query.js";
import { Empty, EvidencePhoto, WorkerLink, clockHref, friendly, loadClocksById } from "./common.jsx";
import { SiteField } from "./pickers.jsx";

const REASONS = {
  FACE_NOT_WORKERS: ["danger", "Not the worker's face"],
  NO_FACE: ["danger", "No face at the camera"],
  PIN_AFTER_FACE_FAILED: ["danger", "PIN after a refused face"],
  PIN_BURST: ["danger", "PIN burst"],
  FACE_ENROLLED: ["warn", "Face enrolled, used PIN"],
  UNUSUAL_CLOCK: ["warn", "Unusual clock"],
  UNUSUAL_HOUR: ["warn", "Unusual hour"],
};

function Suspicious() {
  const [range, setRange] = useState({ from: isoDate(-29), to: isoDate(0), site_id: "" });
  const [form, setForm] = useState(range);
  const report = useLoad(() => client.getSuspiciousPinPunchesReport({ query: range }), [JSON.stringify(range)]);
  const rows = report.data?.data || [];
  // The names of the report's clocks only.
  const clockIds = [...new Set(rows.map((r) => r.clock_id).filter(Boolean))].sort();
  const clocks = useLoad(() => loadClocksById(clockIds), [clockIds.join()]);
  const names = Object.fromEntries(Object.values(clocks.data || {}).map((c) => [c.id, c.name]));
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => (report.error?.field === k ? report.error.message : null);
  return (
    <section class="card stack" aria-labelledby="suspicious-title">
      <h2 id="suspicious-title">Suspicious PIN use</h2>
      <p class="muted">
        PIN punches that suggest a shared PIN, strongest first: the photo at the punch is not the worker's face or shows
        nobody, a PIN right after the camera refused a face, several workers by PIN at one clock within two minutes, a worker
        with an enrolled face using a PIN, a clock the worker is rarely at, or an hour they never punch at. Consider removing the PIN or enrolling the worker's face. At most 93 days
        at a time.
      </p>
      <form
        class="filters"
        aria-label="Report period"
        onSubmit={(e) => {
          e.preventDefault();
          setRange(form);
        }}
      >
        <TextField label="From" type="date" value={form.from} onInput={set("from")} error={err("from")} />
        <TextField label="To" type="date" value={form.to} onInput={set("to")} error={err("to")} />
        <SiteField value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
        <div class="buttons">
          <Button type="submit" busy={report.loading}>
            Show
          </Button>
        </div>
      </form>
      <ErrorBanner error={report.error && !report.error.field ? report.error : null} />
      {report.loading && !report.data ? (
        <Loading what="Loading the report" />
      ) : (
        report.data && (
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Suspicious PIN punches</caption>
              <thead>
                <tr>
                  <th scope="col">When (local)</th>
                  <th scope="col">Worker</th>
                  <th scope="col">Clock</th>
                  <th scope="col">Why</th>
                  <th scope="col">
                    <span class="sr-only">Review</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.punch_id}>
                    <th scope="row">{localStamp(r.local_time)}</th>
                    <td>
                      <WorkerLink id={r.worker_id} name={r.display_name} employeeId={r.employee_id} />
                    </td>
                    <td>
                      {r.clock_id ? <a href={clockHref(r.clock_id)}>{names[r.clock_id] || "Clock"}</a> : "—"}
                      {r.site_id && <div class="muted small">{r.site_id}</div>}
                    </td>
                    <td>
                      <div class="marks">
                        {r.reasons.map((reason) => {
                          const [tone, text] = REASONS[reason] || ["neutral", reason];
                          return (
                            <Badge tone={tone} key={reason}>
                              {text}
                            </Badge>
                          );
                        })}
                      </div>
                      {r.detail && <div class="small">{r.detail}</div>}
                      {r.attempt_id && r.evidence && (
                        <EvidencePhoto attemptId={r.attempt_id} name={r.display_name} />
                      )}
                    </td>
                    <td>
                      <a href={punchesOfDayHref(r.worker_id, r.punched_at)}>
                        Punches that day<span class="sr-only"> of {r.display_name}</span>
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <Empty>No suspicious PIN punches from {range.from} to {range.to}.</Empty>}
          </div>
        )
      )}
    </section>
  );
}

const STALE_PAGE = 100; // workers a page, oldest PIN first

function StalePins() {
  const [offset, setOffset] = useState(0);
  const report = useLoad(() => client.getStalePinsReport({ query: { offset, limit: STALE_PAGE } }), [offset]);
  const me = useMe();
  const [days, setDays] = useState("");
  const action = useAction();
  const [saved, setSaved] = useState(null);
  useEffect(() => {
    if (report.data) setDays(report.data.max_age_days ? String(report.data.max_age_days) : "");
  }, [report.data]);
  const policy = report.data?.max_age_days;
  const rows = report.data?.data || [];
  const save = async (e) => {
    e.preventDefault();
    setSaved(null);
    const value = days.trim() === "" ? null : Number(days);
    try {
      await action.run(() => client.setPinPolicy({ json: { max_age_days: value } }));
      setSaved(value ? `PINs older than ${value} days are now reported.` : "No maximum PIN age is set now.");
      report.reload();
    } catch {
      /* next to the field */
    }
  };
  return (
    <section class="card stack" aria-labelledby="stale-title">
      <h2 id="stale-title">PINs older than the policy</h2>
      {report.data &&
        (policy ? (
          <p class="muted">
            The PIN policy asks for a new PIN every {policy} days. These workers' PINs are older: change them (or let the
            worker choose a new one) from the worker's page.
          </p>
        ) : (
          <Notice>No maximum PIN age is set, so no PIN is reported as stale.</Notice>
        ))}
      {me?.role === "sysadmin" && report.data && (
        <form class="row" onSubmit={save} noValidate aria-label="PIN policy">
          <TextField
            label="Maximum PIN age (days)"
            hint="Empty: PINs never expire."
            type="number"
            min="1"
            max="3650"
            inputMode="numeric"
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
            error={friendly(action.fieldError("max_age_days"), "A number of days from 1 to 3650, or empty.")}
          />
          <Button type="submit" variant="secondary" busy={action.busy}>
            Save policy
          </Button>
        </form>
      )}
      {saved && <Notice tone="ok">{saved}</Notice>}
      <ErrorBanner error={report.error || action.generalError} />
      {report.loading && !report.data ? (
        <Loading what="Loading the report" />
      ) : (
        report.data &&
        policy && (
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Workers whose PIN is older than {policy} days</caption>
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col">Site</th>
                  <th scope="col">PIN set</th>
                  <th scope="col" class="num">
                    Age (days)
                  </th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((w) => (
                  <tr key={w.id}>
                    <th scope="row">
                      <WorkerLink id={w.id} name={w.name} employeeId={w.employee_id} />
                    </th>
                    <td>{w.site_id || "—"}</td>
                    <td>{formatDate(w.pin_set_at)}</td>
                    <td class="num">{daysSince(w.pin_set_at)}</td>
                    <td>
                      <Badge tone={w.status === "Active" ? "ok" : "neutral"}>{w.status}</Badge>
                      {!w.pin_allowed && <div class="muted small">PIN not allowed</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <Empty>Every PIN is younger than {policy} days.</Empty>}
            <Pager offset={offset} count={report.data.count} pageSize={STALE_PAGE} onGo={setOffset} label="Pages of workers" />
          </div>
        )
      )}
    </section>
  );
}

/**
 * The tenant's switch "Hardware clocks may verify PINs" (sysadmins; off by default): while it is
 * on, PINs set from then on are also kept, sealed, for the hardware clocks opted in on their own
 * page. docs/hardware-clocks.md, "Opting a clock in".
 */
function DevicePinsPolicy() {
  const me = useMe();
  const policy = useLoad(() => client.getPinPolicy(), []);
  const action = useAction();
  const [saved, setSaved] = useState(null);
  if (me?.role !== "sysadmin") return null;
  const p = policy.data;
  const on = Boolean(p?.devices_verify_pins);
  const toggle = async () => {
    setSaved(null);
    try {
      await action.run(() =>
        client.setPinPolicy({ json: { max_age_days: p.max_age_days ?? null, devices_verify_pins: !on } }),
      );
      setSaved(
        on
          ? "Hardware clocks no longer get PINs: every PIN kept for them is being deleted."
          : "PINs set from now on are kept, sealed, for the hardware clocks you opt in on their own page.",
      );
      policy.reload();
    } catch {
      /* banner */
    }
  };
  return (
    <section class="card stack" aria-labelledby="device-pins-title">
      <h2 id="device-pins-title">Hardware clocks may verify PINs</h2>
      <p class="muted">
        Off by default: Punchcard keeps PINs only as a one-way hash and hardware clocks get no PIN (workers use a face,
        fingerprint or card there). Turned on, each PIN an admin sets from then on is also kept encrypted under a key
        only the clock service can use, and sent to the hardware clocks you opt in one by one ("PINs on this clock" on a
        clock's page). Those clocks store the PINs and check them themselves: anyone who can read such a clock's memory
        can read them. PINs set before you turn this on reach no clock until they are set again. Turning it off deletes
        every PIN kept for clocks, and the clocks lose them.
      </p>
      {p && (
        <p>
          {on ? <Badge tone="warn">On</Badge> : <Badge tone="neutral">Off</Badge>}{" "}
          {on && p.pins_not_on_devices > 0 && (
            <span class="muted small">
              {p.pins_not_on_devices} PIN{p.pins_not_on_devices === 1 ? " was" : "s were"} set before: set again to reach
              a clock.
            </span>
          )}
        </p>
      )}
      {p && (
        <div>
          <Button type="button" variant={on ? "secondary" : "danger"} onClick={toggle} busy={action.busy}>
            {on ? "Turn off and delete PINs from clocks" : "Let hardware clocks verify PINs"}
          </Button>
        </div>
      )}
      {saved && <Notice tone="ok">{saved}</Notice>}
      <ErrorBanner error={policy.error || action.error} />
    </section>
  );
}

/**
 * The tenant's evidence policy (punch's, sysadmins; off by default): refuse PIN and card punches
 * whose photo is not the worker's face. docs/punch.md, "The evidence policy".
 */
function EvidencePolicy() {
  const me = useMe();
  const policy = useLoad(() => client.getPunchPolicy(), []);
  const action = useAction();
  if (me?.role !== "sysadmin") return null;
  const p = policy.data;
  const on = Boolean(p?.refuse_unmatched_photos);
  const toggle = async () => {
    try {
      await action.run(() => client.setPunchPolicy({ json: { refuse_unmatched_photos: !on } }));
      policy.reload();
    } catch {
      /* banner */
    }
  };
  return (
    <section class="card stack" aria-labelledby="evidence-policy-title">
      <h2 id="evidence-policy-title">Refuse PIN and card punches whose photo is not the worker's face</h2>
      <p class="muted">
        Off by default. Needs "keep a photo of every punch" (face settings) and a worker with an enrolled face. Turned
        on, a PIN or card punch whose photo shows someone else or nobody is not recorded, and the kiosk says "Please
        look at the camera". If the photo's check does not come within {p?.evidence_wait_s ?? 5} seconds the punch is
        recorded (and flagged in the report above if the check comes later).
      </p>
      {p && (
        <p>
          {on ? <Badge tone="warn">On</Badge> : <Badge tone="neutral">Off</Badge>}{" "}
          <Button type="button" variant="secondary" onClick={toggle} busy={action.busy}>
            {on ? "Stop refusing" : "Refuse such punches"}
          </Button>
        </p>
      )}
      <ErrorBanner error={policy.error || action.error} />
    </section>
  );
}

export function Reports() {
  return (
    <Page title="Reports">
      <Suspicious />
      <EvidencePolicy />
      <StalePins />
      <DevicePinsPolicy />
    </Page>
  );
}
