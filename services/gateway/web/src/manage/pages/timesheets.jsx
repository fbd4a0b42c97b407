// Timesheets: IN/OUT pairs per worker and day, as punch computes them (docs/punch.md): a shift
// belongs to the local date of its IN in the zone of the clock punched at; a missing IN or OUT
// is flagged and counts 0 hours. CSV is the API's own (format=csv), for payroll.
import { client } from "../api.js";
import { countOf, dayLabel, hours, wallTime } from "../../shared/format.js";
import { Badge, Button, ErrorBanner, Loading, Page, download, useAction, useLoad } from "../ui.jsx";
import { Empty, WorkerLink } from "./common.jsx";
import { FilterBar, useFilters } from "./filters.jsx";

const KEYS = ["worker_id", "site_id", "from", "to"];
const FLAGS = {
  MISSING_IN: ["danger", "Missing IN"],
  MISSING_OUT: ["danger", "Missing OUT"],
  OPEN: ["info", "On shift"],
};

function params(filters, format) {
  return { from: filters.from, to: filters.to, worker_id: filters.worker_id, site_id: filters.site_id, format };
}

function PunchTime({ punch }) {
  if (!punch) return <span class="muted">—</span>;
  return (
    <span title={`${punch.local} (${punch.time_zone})`}>
      {wallTime(punch.local)}
      {punch.method === "MANUAL" && (
        <>
          {" "}
          <Badge tone="warn">Manual</Badge>
        </>
      )}
    </span>
  );
}

function Sheet({ sheet }) {
  const zones = new Set(sheet.days.flatMap((d) => d.shifts.flatMap((s) => [s.in?.time_zone, s.out?.time_zone])).filter(Boolean));
  const headingId = `sheet-${sheet.worker_id}`;
  return (
    <section class="card sheet" aria-labelledby={headingId}>
      <div class="sheet-head">
        <h2 id={headingId}>
          <WorkerLink id={sheet.worker_id} name={sheet.display_name} employeeId={sheet.employee_id} />
        </h2>
        <p class="sheet-total">
          <strong>{hours(sheet.total_hours)} h</strong>
          {sheet.flagged_shifts > 0 && (
            <>
              {" "}
              <Badge tone="danger">
                {countOf(sheet.flagged_shifts, "flagged shift")}
              </Badge>
            </>
          )}
        </p>
      </div>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Shifts of {sheet.display_name}</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">In</th>
              <th scope="col">Out</th>
              <th scope="col" class="num">
                Hours
              </th>
              <th scope="col">Flag</th>
            </tr>
          </thead>
          <tbody>
            {sheet.days.flatMap((day) =>
              day.shifts.map((s, i) => {
                const [tone, text] = FLAGS[s.flag] || [];
                const outDay = s.out && s.in && s.out.local.slice(0, 10) !== s.in.local.slice(0, 10);
                return (
                  <tr key={`${day.date}-${i}`}>
                    <th scope="row">{dayLabel(day.date)}</th>
                    <td>
                      <PunchTime punch={s.in} />
                    </td>
                    <td>
                      <PunchTime punch={s.out} />
                      {outDay && <span class="muted small"> next day</span>}
                    </td>
                    <td class="num">{hours(s.hours)}</td>
                    <td>{s.flag ? <Badge tone={tone}>{text}</Badge> : <span class="muted">—</span>}</td>
                  </tr>
                );
              }),
            )}
            <tr class="total-row">
              <th scope="row" colSpan={3}>
                Total
              </th>
              <td class="num">{hours(sheet.total_hours)}</td>
              <td />
            </tr>
          </tbody>
        </table>
      </div>
      <p class="muted small">Times are local: {[...zones].join(", ") || "—"}.</p>
    </section>
  );
}

export function Timesheets() {
  const filters = useFilters(KEYS);
  const key = JSON.stringify(filters);
  const sheets = useLoad(() => client.getTimesheets({ query: params(filters, "json") }), [key]);
  const csv = useAction();
  const downloadCsv = async () => {
    try {
      await csv.run(async () => {
        const response = await client.getTimesheets({ query: params(filters, "csv"), raw: true });
        await download(response, `timesheets_${filters.from}_${filters.to}.csv`);
      });
    } catch {
      /* banner */
    }
  };
  const data = sheets.data?.data || [];
  const total = data.reduce((sum, s) => sum + s.total_seconds, 0) / 3600;
  return (
    <Page
      title="Timesheets"
      actions={
        <Button type="button" variant="secondary" onClick={downloadCsv} busy={csv.busy}>
          Download CSV
        </Button>
      }
    >
      <FilterBar path="/manage/timesheets" filters={filters} withClock={false} error={sheets.error || csv.error} />
      <ErrorBanner error={(sheets.error && !sheets.error.field && sheets.error) || (csv.error && !csv.error.field && csv.error)} />
      {sheets.loading && !sheets.data ? (
        <Loading what="Loading timesheets" />
      ) : (
        sheets.data && (
          <>
            <p class="muted small" role="status">
              {countOf(data.length, "worker")}, {hours(total)} hours from {filters.from} to {filters.to}. A shift counts on the day
              of its IN; a flagged shift counts 0 hours until it is corrected in Punches.
            </p>
            {data.length === 0 ? (
              <div class="card">
                <Empty>No shifts in this period.</Empty>
              </div>
            ) : (
              data.map((sheet) => <Sheet sheet={sheet} key={sheet.worker_id} />)
            )}
          </>
        )
      )}
    </Page>
  );
}
