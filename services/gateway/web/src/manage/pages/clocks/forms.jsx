// The clock forms: registering a clock, and on a clock's page the Edit and Revoke dialogs.
// A refused save keeps what was typed, with the API's error next to its field.
import { useEffect, useState } from "preact/hooks";
import { client } from "../../api.js";
import { browserZone } from "../../../shared/format.js";
import { Button, ErrorBanner, TextField, useAction } from "../../ui.jsx";
import { FormDialog, TimeZoneList, friendly } from "../common.jsx";
import { RULES } from "./rules.js";

/** A form's values and errors: `set(k)` for onInput, `err(k)` the field's error in words. */
function useClockForm(initial) {
  const [form, setForm] = useState(initial);
  const action = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => friendly(action.fieldError(k), RULES[k]);
  return { form, setForm, action, set, err };
}

export function RegisterForm({ onRegistered, onCancel }) {
  const { form, action, set, err } = useClockForm({
    serial_number: "",
    name: "",
    site_id: "",
    time_zone: browserZone() || "UTC",
  });
  const submit = async (e) => {
    e.preventDefault();
    try {
      const clock = await action.run(() => client.registerClock({ json: form }));
      onRegistered(clock);
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
  };
  return (
    <form class="card stack" onSubmit={submit} noValidate aria-labelledby="register-title">
      <h2 id="register-title">Register a clock</h2>
      <ErrorBanner error={action.generalError} />
      <div class="grid2">
        <TextField
          label="Serial number"
          hint="As printed on the device, or any unique code for a tablet."
          value={form.serial_number}
          onInput={set("serial_number")}
          error={err("serial_number")}
          autoComplete="off"
          required
        />
        <TextField label="Name" hint="Where it is, e.g. Front door." value={form.name} onInput={set("name")} error={err("name")} required />
        <TextField label="Site" hint="The site id (optional)." value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
        <TextField
          label="Time zone"
          hint="Punches at this clock are shown in this zone."
          value={form.time_zone}
          onInput={set("time_zone")}
          error={err("time_zone")}
          list="time-zones"
          autoComplete="off"
          required
        />
      </div>
      <TimeZoneList id="time-zones" />
      <div class="row">
        <Button type="submit" busy={action.busy}>
          Register clock
        </Button>
        <Button type="button" variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

const editable = (clock) => ({ name: clock.name, site_id: clock.site_id, time_zone: clock.time_zone });

export function EditDialog({ clock, open, onClose, onSaved }) {
  const { form, setForm, action, set, err } = useClockForm(editable(clock));
  useEffect(() => {
    if (open) {
      setForm(editable(clock));
      action.setError(null);
    }
  }, [open]);
  return (
    <FormDialog
      open={open}
      title="Edit clock"
      submitLabel="Save"
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={async () => {
        try {
          await action.run(() => client.updateClock(clock.id, { json: form }));
          onSaved();
        } catch {
          /* stays open with what was typed */
        }
      }}
    >
      <TextField label="Name" value={form.name} onInput={set("name")} error={err("name")} required />
      <TextField label="Site" value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
      <TextField
        label="Time zone"
        value={form.time_zone}
        onInput={set("time_zone")}
        error={err("time_zone")}
        list="time-zones"
        autoComplete="off"
      />
      <TimeZoneList id="time-zones" />
    </FormDialog>
  );
}

export function RevokeDialog({ clock, open, onClose, onRevoked }) {
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const action = useAction();
  return (
    <FormDialog
      open={open}
      title={`Revoke ${clock.name}?`}
      describe="The clock is refused from now on: its kiosk can no longer sync or record punches. This cannot be undone; register it again to use it."
      submitLabel="Revoke clock"
      variant="danger"
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={async () => {
        if (!reason.trim()) {
          setMissing(true);
          return;
        }
        setMissing(false);
        try {
          await action.run(() => client.revokeClock(clock.id, { json: { reason: reason.trim() } }));
          onRevoked();
        } catch {
          /* stays open */
        }
      }}
    >
      <TextField multiline
        label="Reason"
        hint="Why is it revoked? (e.g. tablet lost)"
        value={reason}
        onInput={(e) => setReason(e.currentTarget.value)}
        error={missing ? "Give a reason." : action.fieldError("reason")}
        required
      />
    </FormDialog>
  );
}
