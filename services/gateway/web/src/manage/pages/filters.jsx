// The filter bar of Punches and Timesheets: its values live in the URL (?worker_id=&from=…), so
// a filtered view can be reloaded, bookmarked and shared; "Apply" routes to the new query.
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { Button, TextField } from "../ui.jsx";
import { isoDate } from "../../shared/format.js";
import { ClockSelect, SiteField, WorkerSelect } from "./pickers.jsx";

/** The filters in the URL, with defaults (the last 7 days through today). */
export function useFilters(keys) {
  const { query } = useLocation();
  const values = {};
  for (const k of keys) values[k] = query[k] || "";
  if (!values.from) values.from = isoDate(-6);
  if (!values.to) values.to = isoDate(0);
  return values;
}

export function FilterBar({ path, filters, withClock = true, error, extra }) {
  const { route } = useLocation();
  const [form, setForm] = useState(filters);
  const [cleared, setCleared] = useState(0); // a new picker (its search box empty) on Clear
  const key = JSON.stringify(filters);
  useEffect(() => setForm(filters), [key]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const apply = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v) q.set(k, v);
    route(`${path}?${q}`);
  };
  const fieldError = (name) => (error && error.field === name ? error.message : null);
  return (
    <form class="card filters" onSubmit={apply} aria-label="Filters" role="search">
      <WorkerSelect key={`worker-${cleared}`} value={form.worker_id} onChange={(id) => setForm((f) => ({ ...f, worker_id: id }))} error={fieldError("worker_id")} />
      {withClock && <ClockSelect key={`clock-${cleared}`} value={form.clock_id} onChange={(id) => setForm((f) => ({ ...f, clock_id: id }))} error={fieldError("clock_id")} />}
      <SiteField value={form.site_id} onInput={set("site_id")} error={fieldError("site_id")} />
      <TextField label="From" type="date" value={form.from} onInput={set("from")} error={fieldError("from")} max={form.to || undefined} />
      <TextField label="To" type="date" value={form.to} onInput={set("to")} error={fieldError("to")} min={form.from || undefined} />
      <div class="buttons">
        <Button type="submit">Apply</Button>
        <Button
          type="button"
          variant="secondary"
          onClick={() => {
            setForm({ ...Object.fromEntries(Object.keys(form).map((k) => [k, ""])), from: isoDate(-6), to: isoDate(0) });
            setCleared((n) => n + 1);
            route(path);
          }}
        >
          Clear
        </Button>
        {extra}
      </div>
    </form>
  );
}
