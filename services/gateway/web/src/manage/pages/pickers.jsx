// A worker picker that holds in a tenant of any size: the workers matching what is typed in
// "Name or Employee ID" (identity's search, the first PICK_LIMIT by name), in a select labelled
// "Worker". The chosen worker stays an option whatever is typed next. Pickers that loaded every
// worker stopped at 2,000: a worker past those could not be chosen.
import { useState } from "preact/hooks";
import { client } from "../api.js";
import { workerLabel } from "../../shared/format.js";
import { SelectField, TextField, useLoad, useSettled } from "../ui.jsx";

export const PICK_LIMIT = 50;

/** The select's options: the empty choice, the chosen worker (when the search did not find
 * it), then the workers found, in the order identity gave (by name). */
export function workerChoices(found, chosen, emptyLabel) {
  const options = [["", emptyLabel]];
  if (chosen && !found.some((w) => w.id === chosen.id)) options.push([chosen.id, workerLabel(chosen)]);
  for (const w of found) options.push([w.id, workerLabel(w)]);
  return options;
}

/** Under the select when the search found more than it shows. */
export function narrowHint(shown, count) {
  return count > shown ? `${shown} of ${count.toLocaleString("en")} shown: type a name or Employee ID to narrow.` : undefined;
}

/** `value`: the chosen worker's id ("" for none); `onChange(id)`. */
export function WorkerSelect({ label = "Worker", value, onChange, error, emptyLabel = "All workers" }) {
  const [typed, setTyped] = useState("");
  const term = useSettled(typed.trim());
  const found = useLoad(() => client.listWorkers({ query: { search: term || undefined, limit: PICK_LIMIT } }), [term]);
  const list = found.data?.data || [];
  const listed = list.some((w) => w.id === value);
  // The chosen worker when the search does not show it (a filter read from the URL, or one
  // picked before the search changed).
  const chosen = useLoad(
    () => (value && !listed ? client.getWorker(value).catch(() => null) : Promise.resolve(null)),
    [value, listed],
  );
  return (
    <div class="worker-select">
      <TextField
        label="Name or Employee ID"
        type="search"
        value={typed}
        onInput={(e) => setTyped(e.currentTarget.value)}
        onKeyDown={(e) => e.key === "Enter" && e.preventDefault()} // searching is not submitting
        autoComplete="off"
        hint={narrowHint(list.length, found.data?.count || 0)}
      />
      <SelectField
        label={label}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
        error={error || (found.error && found.error.message)}
        options={workerChoices(list, chosen.data, emptyLabel)}
      />
    </div>
  );
}
