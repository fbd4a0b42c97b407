// The audit log: every change an admin made through the API, and every sign-in attempt, newest
// first (services/gateway/README.md, "Audit log"; sysadmins only). Paged 50 at a time; the
// page and the filters live in the URL.
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../api.js";
import { formatDateTime, workerLabel } from "../../shared/format.js";
import { mayReadAuditLog } from "../roles.js";
import { Badge, Button, ErrorBanner, Loading, Notice, Page, SelectField, useLoad, useMe } from "../ui.jsx";
import { Empty, clockHref, loadClocksById, loadWorkersById, withQuery, workerHref } from "./common.jsx";

const LIMIT = 50;

const ACTIONS = {
  "POST /api/v1/auth/token": "Signed in",
  "POST /api/v1/auth/refresh": "Renewed the session",
  "POST /api/v1/users": "Added an admin",
  "PATCH /api/v1/users/{id}": "Edited an admin",
  "POST /api/v1/workers": "Added a worker",
  "PATCH /api/v1/workers/{id}": "Edited a worker",
  "PUT /api/v1/workers/{id}/pin": "Set a PIN",
  "POST /api/v1/workers/{id}/pin/generate": "Generated a PIN",
  "DELETE /api/v1/workers/{id}/pin": "Removed a PIN",
  "POST /api/v1/workers/{id}/pin/unlock": "Unlocked a PIN",
  "PUT /api/v1/workers/{id}/pin-allowed": "Changed whether a PIN is allowed",
  "PUT /api/v1/workers/{id}/face": "Enrolled a face",
  "DELETE /api/v1/workers/{id}/face": "Deleted face data",
  "PUT /api/v1/workers/{id}/clocks/{clock_id}": "Assigned a clock to a worker",
  "DELETE /api/v1/workers/{id}/clocks/{clock_id}": "Removed a clock from a worker",
  "PUT /api/v1/pin-policy": "Changed the PIN policy",
  "PUT /api/v1/punch-policy": "Changed the punch evidence policy",
  "POST /api/v1/clocks": "Registered a clock",
  "PATCH /api/v1/clocks/{id}": "Edited a clock",
  "POST /api/v1/clocks/{id}/credential": "Re-keyed a clock",
  "POST /api/v1/clocks/{id}/revoke": "Revoked a clock",
  "POST /api/v1/clocks/{id}/resync": "Resynced a clock",
  "PUT /api/v1/clocks/{id}/workers/{worker_id}": "Assigned a worker to a clock",
  "DELETE /api/v1/clocks/{id}/workers/{worker_id}": "Removed a worker from a clock",
  "POST /api/v1/assignments": "Changed assignments in bulk",
  "PUT /api/v1/sites/{id}/clock-rule": "Changed a site's clock rule",
  "POST /api/v1/punches": "Added a missed punch",
  "POST /api/v1/punches/{id}/void": "Voided a punch",
  "POST /api/v1/punches/{id}/replace": "Replaced a punch",
};

// repeated: a correction sent again with its Idempotency-Key (a double click, a retry after a
// lost answer): answered as the first time, nothing changed — one correction, not two.
function Status({ code, repeated }) {
  const tone = code < 300 ? "ok" : code < 500 ? (code === 401 || code === 403 ? "danger" : "warn") : "danger";
  const text = code < 300 ? "Done" : code === 401 ? "Refused" : code === 403 ? "Forbidden" : code < 500 ? "Invalid" : "Failed";
  if (repeated) {
    return (
      <span title="The same request was sent again: it was answered as the first time and nothing changed">
        <Badge tone="ok">Sent again, no change ({code})</Badge>
      </span>
    );
  }
  return (
    <Badge tone={tone}>
      {text} ({code})
    </Badge>
  );
}

/** What an entry's target is: "workers", "clocks", … (the route's first part after /api/v1). */
const resourceOf = (entry) => entry.action.split(" ")[1]?.split("/")[3];

function Target({ entry, workers, clocks, admins }) {
  const id = entry.target_id;
  if (!id) return <span class="muted">—</span>;
  const resource = resourceOf(entry);
  if (resource === "workers") {
    const w = workers[id];
    return <a href={workerHref(id)}>{w ? workerLabel(w) : "Worker"}</a>;
  }
  if (resource === "clocks") return <a href={clockHref(id)}>{clocks[id]?.name || "Clock"}</a>;
  if (resource === "punches") return <span>Punch <code class="small">{id.slice(0, 8)}</code></span>;
  if (resource === "users" || resource === "auth") return <span>{admins[id]?.name || "Admin"}</span>;
  if (resource === "sites") return <span>Site {id}</span>;
  return <code class="small">{id}</code>;
}

export function Audit() {
  const me = useMe();
  if (!me) return <Loading what="Loading the audit log" />;
  if (!mayReadAuditLog(me.role)) {
    return (
      <Page title="Audit log">
        <Notice>The audit log is for system administrators.</Notice>
      </Page>
    );
  }
  return <AuditLog />;
}

function AuditLog() {
  const { query, route } = useLocation();
  const offset = Math.max(0, parseInt(query.offset || "0", 10) || 0);
  const actor = query.actor || "";
  const action = query.action || "";
  const log = useLoad(() => client.listAuditLog({ query: { offset, limit: LIMIT, actor, action } }), [offset, actor, action]);
  const users = useLoad(() => client.listUsers({ query: { limit: 200 } }), []);
  // The names of this page's workers and clocks only.
  const targets = (resource) => (log.data?.data || []).filter((e) => resourceOf(e) === resource).map((e) => e.target_id);
  const workerIds = targets("workers");
  const clockIds = targets("clocks");
  const workers = useLoad(() => loadWorkersById(workerIds), [workerIds.join()]);
  const clocks = useLoad(() => loadClocksById(clockIds), [clockIds.join()]);
  const [form, setForm] = useState({ actor, action });
  useEffect(() => setForm({ actor, action }), [actor, action]);

  const go = (next) => route(withQuery("/manage/audit", { actor, action, offset, ...next }));
  const admins = Object.fromEntries((users.data?.data || []).map((u) => [u.id, u]));
  const workerMap = workers.data || {};
  const clockMap = clocks.data || {};
  const rows = log.data?.data || [];
  const count = log.data?.count || 0;
  return (
    <Page title="Audit log">
      <form
        class="card filters"
        role="search"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ ...form, offset: 0 });
        }}
      >
        <SelectField
          label="Admin"
          value={form.actor}
          onChange={(e) => setForm({ ...form, actor: e.currentTarget.value })}
          options={[["", "Every admin"], ...(users.data?.data || []).map((u) => [u.id, `${u.name} (${u.email})`])]}
        />
        <SelectField
          label="Action"
          value={form.action}
          onChange={(e) => setForm({ ...form, action: e.currentTarget.value })}
          options={[["", "Every action"], ...Object.entries(ACTIONS).map(([k, v]) => [k, v])]}
        />
        <div class="buttons">
          <Button type="submit">Apply</Button>
          <Button type="button" variant="secondary" onClick={() => route("/manage/audit")}>
            Clear
          </Button>
        </div>
      </form>
      <ErrorBanner error={log.error} />
      {log.loading && !log.data ? (
        <Loading what="Loading the audit log" />
      ) : (
        log.data && (
          <>
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Audit log, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">What</th>
                    <th scope="col">Target</th>
                    <th scope="col">Result</th>
                    <th scope="col">From</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((e) => (
                    <tr key={e.id}>
                      <th scope="row">{formatDateTime(e.at)}</th>
                      <td>{e.actor_id ? admins[e.actor_id]?.name || "An admin" : <span class="muted">unknown</span>}</td>
                      <td>
                        {ACTIONS[e.action] || e.action}
                        <div class="muted small">
                          <code>{e.action}</code>
                        </div>
                      </td>
                      <td>
                        <Target entry={e} workers={workerMap} clocks={clockMap} admins={admins} />
                      </td>
                      <td>
                        <Status code={e.status_code} repeated={e.repeated} />
                      </td>
                      <td class="small">
                        {e.client_ip || "—"}
                        {e.request_id && <div class="muted">request {e.request_id.slice(0, 8)}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {rows.length === 0 && <Empty>No audit entries{actor || action ? " match these filters" : ""}.</Empty>}
            </div>
            {count > 0 && (
              <nav class="pager" aria-label="Pages">
                <span role="status">
                  {offset + 1}–{Math.min(offset + LIMIT, count)} of {count}
                </span>
                <span class="row">
                  <Button type="button" variant="secondary" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - LIMIT) })}>
                    Newer
                  </Button>
                  <Button type="button" variant="secondary" disabled={offset + LIMIT >= count} onClick={() => go({ offset: offset + LIMIT })}>
                    Older
                  </Button>
                </span>
              </nav>
            )}
          </>
        )
      )}
    </Page>
  );
}
