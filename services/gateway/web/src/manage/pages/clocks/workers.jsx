// A clock's "Who may use this clock": the workers on it (directly or by a site rule) and their
// role on it, adding one by Employee ID, removing a direct assignment.
import { useState } from "preact/hooks";
import { client } from "../../api.js";
import { inZone } from "../../../shared/format.js";
import { Badge, Button, ConfirmButton, ErrorBanner, Loading, Pager, TextField, useAction, useLoad, useSettled } from "../../ui.jsx";
import { Empty, WorkerLink } from "../common.jsx";
import { ClockRoleSelect } from "../workers/role-select.jsx";
import { findByEmployeeId, sourcesText, workerStatusTone } from "./rules.js";

const SUGGESTIONS = 20;

function AddWorker({ clockId, assigned, onAdded }) {
  const [value, setValue] = useState("");
  const term = useSettled(value.trim());
  // Suggestions: the first workers by name that match what is typed (identity's search).
  const workers = useLoad(
    () => client.listWorkers({ query: { search: term || undefined, limit: SUGGESTIONS } }).then((page) => page.data),
    [term],
  );
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
    let worker = findByEmployeeId(workers.data || [], typed);
    try {
      await action.run(async () => {
        if (!worker) {
          const found = await client.listWorkers({ query: { search: typed, limit: 20 } });
          worker = found.data.find((w) => w.employee_id.toLowerCase() === typed.toLowerCase());
        }
        if (!worker) {
          setNotFound(`No worker has the Employee ID ${typed}.`);
          return;
        }
        const answer = await client.assignWorkerToClock(clockId, worker.id);
        setValue("");
        onAdded(worker, answer);
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

function WorkerRow({ worker: w, clock, canAssign, sysadmin, remove, onRemove, onRoleChanged }) {
  return (
    <tr>
      <th scope="row">
        <WorkerLink id={w.worker_id} name={w.display_name} employeeId={w.employee_id} />
      </th>
      <td>
        <Badge tone={workerStatusTone(w.status)}>{w.status}</Badge>
        {!w.on_clock && <div class="muted small">not on the clock while inactive</div>}
      </td>
      <td>{sourcesText(w.sources)}</td>
      <td>
        <ClockRoleSelect
          clockId={clock.id}
          workerId={w.worker_id}
          role={w.clock_role}
          sysadmin={sysadmin}
          canChange={canAssign}
          label={`Role of ${w.display_name}`}
          onChanged={onRoleChanged}
        />
      </td>
      <td>{inZone(w.assigned_at, clock.time_zone)}</td>
      {canAssign && (
        <td class="actions">
          {w.sources.includes("direct") && (
            <ConfirmButton
              label="Remove"
              title={`Remove ${w.display_name} from ${clock.name}?`}
              message={
                w.sources.includes("site_rule")
                  ? "They stay on the clock through the site rule."
                  : "They can no longer punch at this clock."
              }
              confirmLabel="Remove worker"
              onConfirm={() => onRemove(w)}
              variant="danger"
              busy={remove.busy}
            />
          )}
        </td>
      )}
    </tr>
  );
}

/** `workers`: a page of the clock's rows (useLoad), `roster`: that page's {offset, pageSize,
 * onGo}. */
export function ClockWorkers({ clockId, clock, workers, roster, canAssign, sysadmin, remove, onAdded, onRemove }) {
  return (
    <section class="card stack" aria-labelledby="clock-workers">
      <h2 id="clock-workers">Who may use this clock</h2>
      {canAssign && (
        <AddWorker clockId={clockId} assigned={workers.data?.data || []} onAdded={onAdded} />
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
                  <th scope="col">Role</th>
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
                  <WorkerRow
                    key={w.worker_id}
                    worker={w}
                    clock={clock}
                    canAssign={canAssign}
                    sysadmin={sysadmin}
                    remove={remove}
                    onRemove={onRemove}
                    onRoleChanged={() => workers.reload()}
                  />
                ))}
              </tbody>
            </table>
            {workers.data.data.length === 0 && <Empty>Nobody may use this clock yet.</Empty>}
            <Pager {...roster} count={workers.data.count} label="Pages of workers" />
          </div>
        )
      )}
    </section>
  );
}
