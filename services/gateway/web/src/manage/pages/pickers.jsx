// Pickers that hold in a tenant of any size: a select of the first PICK_LIMIT workers or clocks
// by name, and, when there are more, a search box that narrows it (identity's and device-sync's
// `search`). The chosen one stays an option whatever is typed next; one given by id (a filter
// read from the URL) is fetched by id. Pickers that loaded every worker or clock stopped at 2,000.
import { useId, useState } from "preact/hooks";
import { client } from "../api.js";
import { workerLabel } from "../../shared/format.js";
import { SelectField, TextField, useLoad, useSettled } from "../ui.jsx";

export const PICK_LIMIT = 50;

/** The select's options: the empty choice, the chosen item (when the search did not find it),
 * then the items found, in the order the API gave (by name). */
export function choices(found, chosen, emptyLabel, labelOf) {
  const options = [["", emptyLabel]];
  if (chosen && !found.some((item) => item.id === chosen.id)) options.push([chosen.id, labelOf(chosen)]);
  for (const item of found) options.push([item.id, labelOf(item)]);
  return options;
}

/** Under the search box when the list holds more than the select shows. */
export function narrowHint(shown, count, what) {
  return count > shown ? `${shown} of ${count.toLocaleString("en")} shown: type ${what} to narrow.` : undefined;
}

/**
 * `find(term)`: a page `{data, count}` of what matches; `fetchOne(id)`: one item;
 * `onChange(id, item)`; `keep(item)`: which items found may be chosen.
 */
function SearchSelect({ label, searchLabel, what, value, onChange, error, emptyLabel, find, fetchOne, labelOf, keep }) {
  const [typed, setTyped] = useState("");
  const term = useSettled(typed.trim());
  const found = useLoad(() => find(term), [term]);
  const page = found.data?.data || [];
  const list = keep ? page.filter(keep) : page;
  const listed = list.find((item) => item.id === value);
  const chosen = useLoad(
    () => (value && !listed ? fetchOne(value).catch(() => null) : Promise.resolve(null)),
    [value, Boolean(listed)],
  );
  const more = (found.data?.count || 0) > page.length;
  return (
    <div class="search-select">
      {(more || typed) && (
        <TextField
          label={searchLabel}
          type="search"
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
          onKeyDown={(e) => e.key === "Enter" && e.preventDefault()} // searching is not submitting
          autoComplete="off"
          hint={narrowHint(page.length, found.data?.count || 0, what)}
        />
      )}
      <SelectField
        label={label}
        value={value}
        onChange={(e) => {
          const id = e.currentTarget.value;
          onChange(id, list.find((item) => item.id === id) || (chosen.data?.id === id ? chosen.data : null));
        }}
        error={error || (found.error && found.error.message)}
        options={choices(list, listed ? null : chosen.data, emptyLabel, labelOf)}
      />
    </div>
  );
}

/** `value`: the chosen worker's id ("" for none); `onChange(id, worker)`. */
export function WorkerSelect({ label = "Worker", emptyLabel = "All workers", ...rest }) {
  return (
    <SearchSelect
      label={label}
      emptyLabel={emptyLabel}
      searchLabel="Name or Employee ID"
      what="a name or Employee ID"
      find={(search) => client.listWorkers({ query: { search: search || undefined, limit: PICK_LIMIT } })}
      fetchOne={client.getWorker}
      labelOf={workerLabel}
      {...rest}
    />
  );
}

/** `value`: the chosen clock's id ("" for none); `onChange(id, clock)`. */
export function ClockSelect({ label = "Clock", emptyLabel = "All clocks", labelOf = (c) => c.name, ...rest }) {
  return (
    <SearchSelect
      label={label}
      emptyLabel={emptyLabel}
      searchLabel="Name or serial number"
      what="a name or serial number"
      find={(search) => client.listClocks({ query: { search: search || undefined, limit: PICK_LIMIT } })}
      fetchOne={client.getClock}
      labelOf={labelOf}
      {...rest}
    />
  );
}

/** How many sites a Site box suggests at once (those starting with what is typed). */
const SITE_SUGGESTIONS = 50;

/**
 * A Site box: any text (a new site is typed as it is), suggesting the tenant's sites (those of
 * its clocks; a manager's own) that start with what is typed, so an existing site is not
 * typed again as "North-1" and "north 1". Asked when the box is first focused and after a
 * pause in typing (`GET /sites?starts_with=`), not on every visit.
 */
export function SiteField({ value, onInput, error, hint, label = "Site", disabled }) {
  const [wanted, setWanted] = useState(false);
  const typed = useSettled((value || "").trim());
  const listId = useId();
  const sites = useLoad(
    () => (wanted ? client.listSites({ query: { starts_with: typed, limit: SITE_SUGGESTIONS } }) : Promise.resolve(null)),
    [wanted, typed],
  );
  return (
    <>
      <TextField label={label} hint={hint} value={value} onInput={onInput} onFocus={() => setWanted(true)} error={error} list={listId} autoComplete="off" disabled={disabled} />
      <datalist id={listId}>
        {(sites.data?.data || []).map((s) => (
          <option value={s} key={s} />
        ))}
      </datalist>
    </>
  );
}
