// Clocks: the list (status, last seen, roster version), registering a clock (its credential is
// shown once), and a clock's page: who may use it, its recent commands, and the admin actions
// (edit, re-key, resync, revoke). API: docs/device-sync.md, "Admin API".
import { useEffect, useRef, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { api, get } from "../api.js";
import {
  Badge,
  Button,
  ConfirmButton,
  ErrorBanner,
  Loading,
  Notice,
  Page,
  TextField,
  timeAgo,
  useAction,
  useLoad,
} from "../ui.jsx";
import {
  CopyButton,
  Empty,
  FormDialog,
  WorkerLink,
  browserZone,
  clockHref,
  friendly,
  inZone,
  ClockStatus,
  loadAllWorkers,
  timeZones,
  useMe,
} from "./common.jsx";

const RULES = {
  serial_number: "Use 1–64 letters, digits or . _ : - (no spaces).",
  name: "Give the clock a name (up to 200 characters).",
  site_id: "Up to 200 characters.",
  time_zone: "Use an IANA time zone such as Europe/Madrid.",
};

function RosterVersion({ clock }) {
  const behind = clock.last_sequence - clock.applied_sequence;
  return (
    <span class="roster">
      <span>
        {clock.applied_sequence} / {clock.last_sequence}
      </span>
      {clock.status !== "revoked" &&
        (clock.in_sync ? (
          <Badge tone="ok">In sync</Badge>
        ) : (
          <Badge tone="warn">{behind > 0 ? `${behind} behind` : "Not in sync"}</Badge>
        ))}
    </span>
  );
}

/** A credential, once: a clear box, a copy button, and how to pair a kiosk tablet with it. */
function Credential({ clock, credential, onDone, title = "Clock registered" }) {
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="card credential" aria-labelledby="credential-title">
      <h2 id="credential-title" tabIndex={-1} ref={heading}>
        {title}: {clock.name}
      </h2>
      <p>
        <strong>Copy this credential now. It will not be shown again.</strong> Only its hash is
        stored; if it is lost, re-key the clock.
      </p>
      <p class="secret" aria-label="Clock credential">
        {credential}
      </p>
      <div class="row">
        <CopyButton text={credential} label="Copy credential" />
      </div>
      <h3>Pair a kiosk tablet</h3>
      <ol class="steps">
        <li>
          On the tablet, open <code>{location.origin}/kiosk/</code>.
        </li>
        <li>Enter (paste) the credential above when the kiosk asks for it.</li>
        <li>The kiosk downloads its roster; this clock then shows as Online here.</li>
      </ol>
      <div class="row">
        <Button type="button" variant="secondary" onClick={onDone}>
          I have copied it
        </Button>
      </div>
    </section>
  );
}

function RegisterForm({ onRegistered, onCancel }) {
  const [form, setForm] = useState({
    serial_number: "",
    name: "",
    site_id: "",
    time_zone: browserZone() || "UTC",
  });
  const action = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => friendly(action.fieldError(k), RULES[k]);
  const submit = async (e) => {
    e.preventDefault();
    try {
      const clock = await action.run(() => api("POST", "/clocks", { json: form }));
      onRegistered(clock);
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
  };
  return (
    <form class="card stack" onSubmit={submit} noValidate aria-labelledby="register-title">
      <h2 id="register-title">Register a clock</h2>
      <ErrorBanner error={action.generalError} />
      <div class="grid2">
        <TextField
          label="Serial number"
          hint="As printed on the device, or any unique code for a tablet."
          value={form.serial_number}
          onInput={set("serial_number")}
          error={err("serial_number")}
          autoComplete="off"
          required
        />
        <TextField label="Name" hint="Where it is, e.g. Front door." value={form.name} onInput={set("name")} error={err("name")} required />
        <TextField label="Site" hint="The site id (optional)." value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
        <TextField
          label="Time zone"
          hint="Punches at this clock are shown in this zone."
          value={form.time_zone}
          onInput={set("time_zone")}
          error={err("time_zone")}
          list="time-zones"
          autoComplete="off"
          required
        />
      </div>
      <datalist id="time-zones">
        {timeZones().map((z) => (
          <option value={z} key={z} />
        ))}
      </datalist>
      <div class="row">
        <Button type="submit" busy={action.busy}>
          Register clock
        </Button>
        <Button type="button" variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

export function Clocks() {
  const clocks = useLoad(() => get("/clocks"), []);
  const me = useMe();
  const [registering, setRegistering] = useState(false);
  const [registered, setRegistered] = useState(null);
  useEffect(() => {
    const t = setInterval(() => clocks.reload(), 30000);
    return () => clearInterval(t);
  }, [clocks.reload]);
  const list = clocks.data?.data || [];
  const canRegister = me?.role === "sysadmin";
  return (
    <Page
      title="Clocks"
      actions={
        <>
          <Button type="button" variant="secondary" onClick={clocks.reload} busy={clocks.loading}>
            Refresh
          </Button>
          {canRegister && !registering && !registered && (
            <Button type="button" onClick={() => setRegistering(true)}>
              Register a clock
            </Button>
          )}
        </>
      }
    >
      {registered && (
        <Credential
          clock={registered}
          credential={registered.credential}
          onDone={() => setRegistered(null)}
        />
      )}
      {registering && (
        <RegisterForm
          onCancel={() => setRegistering(false)}
          onRegistered={(clock) => {
            setRegistering(false);
            setRegistered(clock);
            clocks.reload();
          }}
        />
      )}
      <ErrorBanner error={clocks.error} />
      {clocks.loading && !clocks.data ? (
        <Loading what="Loading clocks" />
      ) : (
        clocks.data && (
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Registered clocks</caption>
              <thead>
                <tr>
                  <th scope="col">Clock</th>
                  <th scope="col">Site</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">
                    Roster version <span class="muted small">(applied / last)</span>
                  </th>
                  <th scope="col" class="num">
                    Workers
                  </th>
                  <th scope="col" class="num">
                    Pending
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">
                      <a href={clockHref(c.id)}>{c.name}</a>
                      <div class="muted small">{c.serial_number}</div>
                    </th>
                    <td>{c.site_id || <span class="muted">—</span>}</td>
                    <td>
                      <ClockStatus status={c.status} />
                    </td>
                    <td>
                      {c.last_seen_at ? (
                        <span title={inZone(c.last_seen_at, c.time_zone)}>{timeAgo(c.last_seen_at)}</span>
                      ) : (
                        <span class="muted">never</span>
                      )}
                      {c.software_version && <div class="muted small">{c.software_version}</div>}
                    </td>
                    <td>
                      <RosterVersion clock={c} />
                    </td>
                    <td class="num">{c.roster_size}</td>
                    <td class="num">{c.pending_commands}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {list.length === 0 && (
              <Empty>
                No clocks yet.{canRegister ? " Register one to pair a kiosk tablet or a hardware clock." : ""}
              </Empty>
            )}
          </div>
        )
      )}
    </Page>
  );
}

// --- one clock -------------------------------------------------------------------------------

const RESULTS = { "-1": "parameter error", "-3": "read/write error", "-5": "no space", "-22": "unknown command" };
const KINDS = { UPSERT_WORKER: "Add or update worker", REMOVE_WORKER: "Remove worker", FULL_RESYNC: "Full resync" };

function CommandState({ command, clockStatus }) {
  if (command.acked_at) {
    if (command.result_code === 0) return <Badge tone="ok">Acknowledged</Badge>;
    const why = RESULTS[String(command.result_code)];
    return (
      <Badge tone="danger">
        Failed ({command.result_code}
        {why ? `: ${why}` : ""})
      </Badge>
    );
  }
  if (clockStatus === "revoked") return <Badge tone="neutral">Not delivered</Badge>;
  if (clockStatus === "online") return <Badge tone="info">Sent</Badge>;
  return <Badge tone="warn">Waiting for the clock</Badge>;
}

function EditDialog({ clock, open, onClose, onSaved }) {
  const [form, setForm] = useState({ name: clock.name, site_id: clock.site_id, time_zone: clock.time_zone });
  const action = useAction();
  useEffect(() => {
    if (open) {
      setForm({ name: clock.name, site_id: clock.site_id, time_zone: clock.time_zone });
      action.setError(null);
    }
  }, [open]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => friendly(action.fieldError(k), RULES[k]);
  return (
    <FormDialog
      open={open}
      title="Edit clock"
      submitLabel="Save"
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={async () => {
        try {
          await action.run(() => api("PATCH", `/clocks/${clock.id}`, { json: form }));
          onSaved();
        } catch {
          /* stays open with what was typed */
        }
      }}
    >
      <TextField label="Name" value={form.name} onInput={set("name")} error={err("name")} required />
      <TextField label="Site" value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
      <TextField
        label="Time zone"
        value={form.time_zone}
        onInput={set("time_zone")}
        error={err("time_zone")}
        list="time-zones"
        autoComplete="off"
      />
      <datalist id="time-zones">
        {timeZones().map((z) => (
          <option value={z} key={z} />
        ))}
      </datalist>
    </FormDialog>
  );
}

function RevokeDialog({ clock, open, onClose, onRevoked }) {
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const action = useAction();
  return (
    <FormDialog
      open={open}
      title={`Revoke ${clock.name}?`}
      describe="The clock is refused from now on: its kiosk can no longer sync or record punches. This cannot be undone; register it again to use it."
      submitLabel="Revoke clock"
      variant="danger"
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={async () => {
        if (!reason.trim()) {
          setMissing(true);
          return;
        }
        setMissing(false);
        try {
          await action.run(() => api("POST", `/clocks/${clock.id}/revoke`, { json: { reason: reason.trim() } }));
          onRevoked();
        } catch {
          /* stays open */
        }
      }}
    >
      <TextField multiline
        label="Reason"
        hint="Why is it revoked? (e.g. tablet lost)"
        value={reason}
        onInput={(e) => setReason(e.currentTarget.value)}
        error={missing ? "Give a reason." : action.fieldError("reason")}
        required
      />
    </FormDialog>
  );
}

function AddWorker({ clockId, assigned, workers, onAdded }) {
  const [value, setValue] = useState("");
  const [notFound, setNotFound] = useState(null);
  const action = useAction();
  const taken = new Set(assigned.map((w) => w.worker_id));
  const choices = (workers.data || []).filter((w) => !taken.has(w.id) && w.status !== "Inactive");
  const submit = async (e) => {
    e.preventDefault();
    setNotFound(null);
    const typed = value.trim();
    if (!typed) {
      setNotFound("Enter an Employee ID, or pick a worker from the list.");
      return;
    }
    let worker = (workers.data || []).find((w) => w.employee_id === typed)
      || (workers.data || []).find((w) => w.employee_id.toLowerCase() === typed.toLowerCase());
    try {
      await action.run(async () => {
        if (!worker) {
          const found = await get("/workers", { search: typed, limit: 20 });
          worker = found.data.find((w) => w.employee_id.toLowerCase() === typed.toLowerCase());
        }
        if (!worker) {
          setNotFound(`No worker has the Employee ID ${typed}.`);
          return;
        }
        await api("PUT", `/clocks/${clockId}/workers/${worker.id}`);
        setValue("");
        onAdded(worker);
      });
    } catch {
      /* shown below */
    }
  };
  const apiError = action.error && (action.error.field === "worker_id" || action.error.code?.startsWith("WORKER")) ? action.error.message : null;
  return (
    <form class="row add-worker" onSubmit={submit} noValidate>
      <TextField
        label="Add a worker"
        hint="Type an Employee ID or pick from the list."
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
        error={notFound || apiError}
        list="clock-worker-choices"
        autoComplete="off"
        class="grow"
      />
      <datalist id="clock-worker-choices">
        {choices.map((w) => (
          <option value={w.employee_id} key={w.id}>
            {w.name}
          </option>
        ))}
      </datalist>
      <Button type="submit" busy={action.busy}>
        Add to clock
      </Button>
      {action.error && !apiError && <ErrorBanner error={action.error} />}
    </form>
  );
}

export function ClockPage() {
  const { params } = useRoute();
  const id = params.id;
  const clock = useLoad(() => get(`/clocks/${id}`), [id]);
  const workers = useLoad(() => get(`/clocks/${id}/workers`), [id]);
  const everyone = useLoad(loadAllWorkers, []);
  const commands = useLoad(() => get(`/clocks/${id}/commands`, { limit: 50 }), [id]);
  const me = useMe();
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const [rekeyed, setRekeyed] = useState(null);
  const act = useAction();
  const remove = useAction();

  const refresh = () => {
    clock.reload();
    workers.reload();
    commands.reload();
  };
  const back = (
    <p class="back">
      <a href="/manage/clocks">← All clocks</a>
    </p>
  );
  if (clock.error && !clock.data) {
    return (
      <Page title="Clock" back={back}>
        <ErrorBanner error={clock.error} />
      </Page>
    );
  }
  if (!clock.data) {
    return (
      <Page title="Clock" back={back}>
        <Loading what="Loading the clock" />
      </Page>
    );
  }
  const c = clock.data;
  const sysadmin = me?.role === "sysadmin";
  const revoked = c.status === "revoked";
  const canAssign = me && me.role !== "viewer" && !revoked;
  const names = Object.fromEntries([
    ...(everyone.data || []).map((w) => [w.id, { display_name: w.name, employee_id: w.employee_id }]),
    ...(workers.data?.data || []).map((w) => [w.worker_id, w]),
  ]);

  const rekey = async () => {
    setNotice(null);
    try {
      const answer = await act.run(() => api("POST", `/clocks/${id}/credential`));
      setRekeyed(answer);
      refresh();
    } catch {
      /* banner */
    }
  };
  const resync = async () => {
    setNotice(null);
    try {
      const answer = await act.run(() => api("POST", `/clocks/${id}/resync`, { json: { reason: "admin request" } }));
      setNotice(`Full resync queued: ${answer.commands_queued} commands.`);
      refresh();
    } catch {
      /* banner */
    }
  };
  const unassign = async (w) => {
    setNotice(null);
    try {
      await remove.run(() => api("DELETE", `/clocks/${id}/workers/${w.worker_id}`));
      setNotice(`${w.display_name} removed from this clock.`);
      refresh();
    } catch {
      /* banner */
    }
  };

  return (
    <Page
      title={c.name}
      back={back}
      actions={
        sysadmin &&
        !revoked && (
          <>
            <Button type="button" variant="secondary" onClick={() => setDialog("edit")}>
              Edit
            </Button>
            <Button type="button" variant="secondary" onClick={resync} busy={act.busy}>
              Resync
            </Button>
            <ConfirmButton
              label="Re-key"
              title="Issue a new credential?"
              message="The current credential stops working at once: the kiosk using it must be paired again with the new one."
              confirmLabel="Re-key clock"
              onConfirm={rekey}
              busy={act.busy}
            />
            <Button type="button" variant="danger" onClick={() => setDialog("revoke")}>
              Revoke
            </Button>
          </>
        )
      }
    >
      <ErrorBanner error={act.error || remove.error} />
      {notice && <Notice tone="ok">{notice}</Notice>}
      {rekeyed && (
        <Credential
          clock={rekeyed}
          credential={rekeyed.credential}
          title="New credential"
          onDone={() => setRekeyed(null)}
        />
      )}
      {revoked && (
        <Notice tone="warn">
          Revoked {inZone(c.revoked_at, c.time_zone)}
          {c.revoked_reason ? `: ${c.revoked_reason}` : ""}. This clock is refused.
        </Notice>
      )}
      <section class="card" aria-labelledby="clock-facts">
        <h2 id="clock-facts">Details</h2>
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <ClockStatus status={c.status} />
          </dd>
          <dt>Last seen</dt>
          <dd>{c.last_seen_at ? `${inZone(c.last_seen_at, c.time_zone)} (${timeAgo(c.last_seen_at)})` : "never"}</dd>
          <dt>Roster version</dt>
          <dd>
            applied {c.applied_sequence} of {c.last_sequence} · {c.roster_size} workers · {c.pending_commands} pending
            commands {c.status !== "revoked" && (c.in_sync ? <Badge tone="ok">In sync</Badge> : <Badge tone="warn">Not in sync</Badge>)}
          </dd>
          <dt>Serial number</dt>
          <dd>{c.serial_number}</dd>
          <dt>Site</dt>
          <dd>{c.site_id || "—"}</dd>
          <dt>Time zone</dt>
          <dd>{c.time_zone}</dd>
          <dt>Software</dt>
          <dd>{c.software_version || "—"}</dd>
          <dt>Registered</dt>
          <dd>{inZone(c.created_at, c.time_zone)}</dd>
        </dl>
      </section>

      <section class="card stack" aria-labelledby="clock-workers">
        <h2 id="clock-workers">Who may use this clock</h2>
        {canAssign && (
          <AddWorker
            clockId={id}
            assigned={workers.data?.data || []}
            workers={everyone}
            onAdded={(w) => {
              setNotice(`${w.name} may now use this clock.`);
              refresh();
            }}
          />
        )}
        <ErrorBanner error={workers.error} />
        {workers.loading && !workers.data ? (
          <Loading what="Loading workers" />
        ) : (
          workers.data && (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Worker</th>
                    <th scope="col">Status</th>
                    <th scope="col">How</th>
                    <th scope="col">Since</th>
                    {canAssign && (
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {workers.data.data.map((w) => (
                    <tr key={w.worker_id}>
                      <th scope="row">
                        <WorkerLink id={w.worker_id} name={w.display_name} employeeId={w.employee_id} />
                      </th>
                      <td>
                        <Badge tone={w.status === "Active" ? "ok" : w.status === "Inactive" ? "danger" : "neutral"}>{w.status}</Badge>
                        {!w.on_clock && <div class="muted small">not on the clock while inactive</div>}
                      </td>
                      <td>{w.sources.map((s) => (s === "site_rule" ? "site rule" : "assigned")).join(", ")}</td>
                      <td>{inZone(w.assigned_at, c.time_zone)}</td>
                      {canAssign && (
                        <td class="actions">
                          {w.sources.includes("direct") && (
                            <ConfirmButton
                              label="Remove"
                              title={`Remove ${w.display_name} from ${c.name}?`}
                              message={
                                w.sources.includes("site_rule")
                                  ? "They stay on the clock through the site rule."
                                  : "They can no longer punch at this clock."
                              }
                              confirmLabel="Remove worker"
                              onConfirm={() => unassign(w)}
                              variant="danger"
                              busy={remove.busy}
                            />
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
              {workers.data.data.length === 0 && <Empty>Nobody may use this clock yet.</Empty>}
            </div>
          )
        )}
      </section>

      <section class="card stack" aria-labelledby="clock-commands">
        <div class="section-head">
          <h2 id="clock-commands">Recent commands</h2>
          <Button type="button" variant="secondary" onClick={refresh} busy={commands.loading}>
            Refresh
          </Button>
        </div>
        <ErrorBanner error={commands.error} />
        {commands.loading && !commands.data ? (
          <Loading what="Loading commands" />
        ) : (
          commands.data && (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      Sequence
                    </th>
                    <th scope="col">Command</th>
                    <th scope="col">Worker</th>
                    <th scope="col">State</th>
                    <th scope="col">Queued</th>
                    <th scope="col">Acknowledged</th>
                  </tr>
                </thead>
                <tbody>
                  {commands.data.data.map((cmd) => {
                    const w = names[cmd.worker_id];
                    return (
                      <tr key={cmd.command_id}>
                        <td class="num">{cmd.sequence}</td>
                        <td>{KINDS[cmd.kind] || cmd.kind}</td>
                        <td>
                          {cmd.worker_id ? (
                            <WorkerLink id={cmd.worker_id} name={w?.display_name} employeeId={w?.employee_id} />
                          ) : (
                            "—"
                          )}
                        </td>
                        <td>
                          <CommandState command={cmd} clockStatus={c.status} />
                          {cmd.detail && <div class="muted small">{cmd.detail}</div>}
                        </td>
                        <td>{inZone(cmd.created_at, c.time_zone)}</td>
                        <td>{cmd.acked_at ? inZone(cmd.acked_at, c.time_zone) : "—"}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {commands.data.data.length === 0 && <Empty>No commands for this clock in the last 7 days.</Empty>}
            </div>
          )
        )}
      </section>

      {sysadmin && (
        <>
          <EditDialog
            clock={c}
            open={dialog === "edit"}
            onClose={() => setDialog(null)}
            onSaved={() => {
              setDialog(null);
              setNotice("Clock saved.");
              refresh();
            }}
          />
          <RevokeDialog
            clock={c}
            open={dialog === "revoke"}
            onClose={() => setDialog(null)}
            onRevoked={() => {
              setDialog(null);
              setNotice(null);
              refresh();
            }}
          />
        </>
      )}
    </Page>
  );
}
