// Punches: the ledger as recorded (docs/punch.md), filtered by worker, clock, site and dates
// (in the URL), a page at a time, with corrections for editors and a CSV of everything that
// matches (made here: the API has none). Times are in the zone of the clock/site of each punch.
import { useEffect, useState } from "preact/hooks";
import { client } from "../../api.js";
import { countOf, inZone } from "../../../shared/format.js";
import { Button, ErrorBanner, Loading, Notice, Page, useAction, useLoad, useMe } from "../../ui.jsx";
import { mayChange } from "../../roles.js";
import { Empty, WorkerLink, clockHref, loadClocksById, saveText } from "../common.jsx";
import { FilterBar, useFilters } from "../filters.jsx";
import { Direction, Marks, Method } from "./cells.jsx";
import { CorrectionDialog } from "./correction.jsx";
import { KEYS, csvOf, query } from "./query.js";

export function Punches() {
  const filters = useFilters(KEYS);
  const key = JSON.stringify(filters);
  const me = useMe();
  const admins = useLoad(() => (me?.role === "sysadmin" ? client.listUsers({ query: { limit: 200 } }) : Promise.resolve(null)), [me?.role]);
  const first = useLoad(() => client.listPunches({ query: query(filters) }), [key]);
  // Evidence photos are offered only where the tenant keeps them (face settings, issue 17).
  const faceSettings = useLoad(
    () => (me && me.role !== "viewer" ? client.getFaceSettings() : Promise.resolve(null)),
    [me?.role],
  );
  const [more, setMore] = useState({ rows: [], cursor: null });
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const loadMore = useAction();
  const csv = useAction();
  useEffect(() => setMore({ rows: [], cursor: first.data?.next_cursor || null }), [first.data]);

  const rows = [...(first.data?.data || []), ...more.rows];
  // The names of the listed punches' clocks only.
  const shownClocks = [...new Set(rows.map((p) => p.clock_id).filter(Boolean))].sort();
  const clocks = useLoad(() => loadClocksById(shownClocks), [shownClocks.join()]);
  const clockNames = Object.fromEntries(Object.values(clocks.data || {}).map((c) => [c.id, c.name]));
  const adminNames = Object.fromEntries((admins.data?.data || []).map((u) => [u.id, u.name]));
  const editor = mayChange(me?.role);

  const next = async () => {
    try {
      const page = await loadMore.run(() => client.listPunches({ query: query(filters, more.cursor) }));
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
          const page = await client.listPunches({ query: query(filters, cursor, 1000) });
          all.push(...page.data);
          cursor = page.next_cursor;
        } while (cursor && all.length < 100000);
        const named = await loadClocksById(all.map((p) => p.clock_id));
        const names = Object.fromEntries(Object.values(named).map((c) => [c.id, c.name]));
        saveText(csvOf(all, names), `punches_${filters.from}_${filters.to}.csv`);
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
            <Button type="button" onClick={() => setDialog({ mode: "add" })}>
              Add a missed punch
            </Button>
          )}
        </>
      }
    >
      <FilterBar path="/manage/punches" filters={filters} error={first.error} />
      {notice && <Notice tone="ok">{notice}</Notice>}
      <ErrorBanner error={(first.error && !first.error.field && first.error) || loadMore.error || csv.error || clocks.error} />
      {first.loading && !first.data ? (
        <Loading what="Loading punches" />
      ) : (
        first.data && (
          <>
            <p class="muted small" role="status">
              {countOf(rows.length, "punch", "punches")}
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
                        <Method punch={p} photos={editor && !!faceSettings.data?.evidence_photos} />
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
          onClose={() => setDialog(null)}
          onDone={done({ add: "Punch added", replace: "Punch replaced", void: "Punch voided" }[dialog.mode])}
        />
      )}
    </Page>
  );
}
