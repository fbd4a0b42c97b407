// Workers: the list, searched (name or Employee ID, as the admin types) and filtered by status,
// both kept in the URL with the page; each worker's face and PIN state at a glance.
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../../api.js";
import { Badge, ErrorBanner, Loading, Page, Pager, SelectField, TextField, useLoad, useMe } from "../../ui.jsx";
import { readsOnly } from "../../roles.js";
import { withQuery } from "../common.jsx";
import { PinSummary, STATUSES, StatusBadge } from "./status.jsx";

const PAGE_SIZE = 50;

export function Workers() {
  const { query, route } = useLocation();
  const search = query.q || "";
  const status = query.status || "";
  const offset = Number(query.offset || 0);
  const [typed, setTyped] = useState(search);
  const viewer = readsOnly(useMe());
  const list = useLoad(
    () => client.listWorkers({ query: { search, status, offset, limit: PAGE_SIZE } }),
    [search, status, offset],
  );
  // Which of this page's workers are enrolled (face-match answers for the workers asked).
  const ids = (list.data?.data || []).map((w) => w.id);
  const enrolled = useLoad(
    async () =>
      ids.length === 0
        ? new Set()
        : client
            .listFaceEnrolments({ query: { worker_id: ids, limit: PAGE_SIZE } })
            .then((r) => new Set((r.items || []).map((i) => i.worker_id))),
    [ids.join()],
  );

  const go = (changes) => route(withQuery("/manage/workers", { q: search, status, offset: 0, ...changes }), true);
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
        !viewer && (
          <a class="btn btn-primary" href="/manage/workers/new">
            Add worker
          </a>
        )
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
              {search || status ? "No workers match these filters." : (viewer ? "No workers yet." : "No workers yet. Add the first one.")}
            </p>
          )}
        </div>
      )}
      <Pager offset={offset} count={count} pageSize={PAGE_SIZE} onGo={(at) => go({ offset: at })} />
    </Page>
  );
}
