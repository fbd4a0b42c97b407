// A worker's Clocks section: which clocks the worker may use and their role on each (User,
// Manager, Administrator), adding and removing clocks, and for each change where the clock stands (command sent / acknowledged / clock offline — will
// sync when back). The state is asked again every few seconds while a command is unconfirmed.
import { useEffect, useState } from "preact/hooks";
import { client } from "../../api.js";
import { formatDateTime } from "../../../shared/format.js";
import { Badge, Button, ConfirmButton, ErrorBanner, Loading, useAction, useLoad, useMe } from "../../ui.jsx";
import { ClockStatus } from "../common.jsx";
import { ClockSelect } from "../pickers.jsx";
import { returnCodeText } from "../clocks/zk.js";
import { ClockRoleSelect } from "./role-select.jsx";
import { mayChange, readsOnly } from "../../roles.js";

const POLL_MS = 3000;
function syncText(sync, removal) {
  const what = removal ? "Delete command" : "Profile download command";
  switch (sync?.state) {
    case "acknowledged":
      return [
        "ok",
        removal ? "Removed from the clock" : "Acknowledged by the clock",
        sync.acked_at && `Acknowledged ${formatDateTime(sync.acked_at)}`,
      ];
    case "sent":
      return ["info", `${what} sent`, "Waiting for the clock to confirm"];
    case "waiting":
      return ["warn", "Clock offline — will sync when back", `${what} queued ${formatDateTime(sync.queued_at)}`];
    case "failed":
      return ["danger", "The clock reported an error", `Code ${returnCodeText(sync.result_code)}${sync.detail ? ` (${sync.detail})` : ""}`];
    case "revoked":
      return ["danger", "Clock revoked", "Nothing reaches a revoked clock"];
    default:
      return ["neutral", "Not on the clock", "Only Active and Pending workers are sent to clocks"];
  }
}

function SyncState({ sync, removal = false }) {
  const [tone, text, detail] = syncText(sync, removal);
  return (
    <span class="sync">
      <Badge tone={tone}>{text}</Badge>
      {detail && <span class="muted"> {detail}</span>}
    </span>
  );
}

const unsettled = (item) => item.sync && ["sent", "waiting"].includes(item.sync.state);

export function WorkerClocks({ worker }) {
  const mine = useLoad(() => client.listWorkerClocks(worker.id), [worker.id]);
  const [choice, setChoice] = useState("");
  const action = useAction();
  const me = useMe();
  const canChange = mayChange(me?.role);
  const viewer = readsOnly(me);

  // Follow unconfirmed commands until the clocks answer.
  const pending = [...(mine.data?.data || []), ...(mine.data?.removed || [])].some(unsettled);
  useEffect(() => {
    if (!pending) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") mine.reload();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [pending, mine.reload]);

  const assignedIds = new Set((mine.data?.data || []).map((c) => c.clock_id));
  const available = (c) => !assignedIds.has(c.id) && c.status !== "revoked";

  const addClock = async (e) => {
    e.preventDefault();
    if (!choice) {
      action.setError({ field: "clock_id", message: "Choose a clock" });
      return;
    }
    try {
      await action.run(() => client.assignWorkerToClock(choice, worker.id));
      setChoice("");
      await mine.reload();
    } catch {
      /* shown next to the field */
    }
  };
  const removeClock = async (clockId) => {
    try {
      await action.run(() => client.unassignWorkerFromClock(clockId, worker.id));
      await mine.reload();
    } catch {
      /* shown */
    }
  };

  return (
    <section class="card stack" aria-labelledby="clocks-h">
      <h2 id="clocks-h">Clocks</h2>
      <ErrorBanner error={mine.error || action.generalError} />
      {!mine.data ? (
        <Loading what="Loading clocks" />
      ) : (
        <div class="table-wrap">
          <table aria-describedby="clocks-h">
            <thead>
              <tr>
                <th scope="col">Clock</th>
                <th scope="col">Clock status</th>
                <th scope="col">Role</th>
                <th scope="col">Sync</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {mine.data.data.map((c) => (
                <tr key={c.clock_id}>
                  <td>
                    <a href={`/manage/clocks/${c.clock_id}`}>{c.name}</a>
                    {c.sources?.includes("site_rule") && <span class="muted"> (site rule)</span>}
                  </td>
                  <td>
                    <ClockStatus status={c.clock_status} />
                  </td>
                  <td>
                    <ClockRoleSelect
                      clockId={c.clock_id}
                      workerId={worker.id}
                      role={c.clock_role}
                      sysadmin={me?.role === "sysadmin"}
                      canChange={canChange && !c.revoked}
                      label={`Role on ${c.name}`}
                      onChanged={() => mine.reload()}
                    />
                  </td>
                  <td>
                    <SyncState sync={c.sync} />
                  </td>
                  <td>
                    {c.sources?.includes("direct") && !viewer && (
                      <ConfirmButton
                        label="Remove"
                        title={`Remove ${worker.name} from ${c.name}?`}
                        message={`${c.name} will be told to delete ${worker.name}'s profile. If the clock is offline it happens when it comes back.`}
                        confirmLabel="Remove from clock"
                        variant="secondary"
                        busy={action.busy}
                        onConfirm={() => removeClock(c.clock_id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
              {(mine.data.removed || []).map((c) => (
                <tr key={`removed-${c.clock_id}`} class="removed">
                  <td>
                    <a href={`/manage/clocks/${c.clock_id}`}>{c.name}</a> <span class="muted">(removed)</span>
                  </td>
                  <td>
                    <ClockStatus status={c.clock_status} />
                  </td>
                  <td />
                  <td>
                    <SyncState sync={c.sync} removal />
                  </td>
                  <td />
                </tr>
              ))}
            </tbody>
          </table>
          {mine.data.data.length === 0 && (mine.data.removed || []).length === 0 && (
            <p class="empty">Not on any clock yet.</p>
          )}
        </div>
      )}
      {!viewer && (
        <form class="row" onSubmit={addClock} noValidate>
          <ClockSelect
            label="Add to clock"
            emptyLabel="Choose a clock…"
            keep={available}
            value={choice}
            onChange={(id) => {
              action.setError(null);
              setChoice(id);
            }}
            error={action.fieldError("clock_id") || action.fieldError("worker_id")}
          />
          <Button type="submit" busy={action.busy} disabled={worker.status === "Inactive"}>
            Add clock
          </Button>
        </form>
      )}
      {!viewer && worker.status === "Inactive" && <p class="hint">An Inactive worker cannot be added to clocks.</p>}
    </section>
  );
}
