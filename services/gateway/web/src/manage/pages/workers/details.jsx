// A worker's details form (Add worker, and the Edit page's Details): the API's error next to
// its field; nothing typed is lost on a failed save.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../../api.js";
import { Button, ErrorBanner, Notice, Page, SelectField, TextField, useAction, useMe } from "../../ui.jsx";
import { readsOnly } from "../../roles.js";
import { SiteField } from "../pickers.jsx";
import { STATUSES } from "./status.jsx";

export const READ_ONLY_NOTE = "Only system administrators and managers change workers.";

/** `readOnly`: the fields are shown, disabled, with no button (a viewer's). */
export function DetailsForm({ initial, submitLabel, onSubmit, showStatus = true, readOnly = false }) {
  const [form, setForm] = useState({
    name: initial.name || "",
    employee_id: initial.employee_id || "",
    job_title: initial.job_title || "",
    site_id: initial.site_id || "",
    status: initial.status || "Pending",
  });
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const set = (key) => (e) => {
    setSaved(false);
    setForm({ ...form, [key]: e.currentTarget.value });
  };
  const submit = async (e) => {
    e.preventDefault();
    await action.submit(null, () => onSubmit(form), () => setSaved(true));
  };
  return (
    <form class="stack" onSubmit={submit} noValidate>
      {readOnly && <Notice>{READ_ONLY_NOTE}</Notice>}
      <ErrorBanner error={action.generalError} />
      <TextField label="Name" required value={form.name} onInput={set("name")} error={action.fieldError("name")} autoComplete="off" disabled={readOnly} />
      <TextField
        label="Employee ID"
        hint="The badge number the worker types at the kiosk: letters, digits, - or _"
        required
        value={form.employee_id}
        onInput={set("employee_id")}
        error={action.fieldError("employee_id")}
        autoComplete="off"
        disabled={readOnly}
      />
      <TextField label="Job title" value={form.job_title} onInput={set("job_title")} error={action.fieldError("job_title")} disabled={readOnly} />
      <SiteField value={form.site_id} onInput={set("site_id")} error={action.fieldError("site_id")} disabled={readOnly} />
      {showStatus && (
        <SelectField
          label="Status"
          value={form.status}
          onChange={set("status")}
          error={action.fieldError("status")}
          disabled={readOnly}
          options={STATUSES.map((s) => [s, s])}
        />
      )}
      {!readOnly && (
        <div class="row">
          <Button type="submit" busy={action.busy}>
            {submitLabel}
          </Button>
          {saved && <span role="status">Saved.</span>}
        </div>
      )}
    </form>
  );
}

export function WorkerNew() {
  const { route } = useLocation();
  const viewer = readsOnly(useMe());
  return (
    <Page title="Add worker" back={<a class="back" href="/manage/workers">← Workers</a>}>
      <div class="card">
        <DetailsForm
          readOnly={viewer}
          initial={{}}
          submitLabel="Add worker"
          onSubmit={async (form) => {
            const worker = await client.registerWorker({ json: form });
            route(`/manage/workers/${worker.id}`);
          }}
        />
      </div>
    </Page>
  );
}
