// The clock forms: registering a clock (a kiosk app or a ZKTeco PUSH hardware clock, or adopting
// an unregistered device), and on a clock's page the Edit and Revoke dialogs.
// A refused save keeps what was typed, with the API's error next to its field.
import { useEffect, useState } from "preact/hooks";
import { client } from "../../api.js";
import { browserZone } from "../../../shared/format.js";
import { Button, ErrorBanner, TextField, useAction } from "../../ui.jsx";
import { FormDialog, TimeZoneList, friendly } from "../common.jsx";
import { SiteField } from "../pickers.jsx";
import { RULES } from "./rules.js";
import { KIOSK_APP, PROTOCOLS, ZK_PUSH, adoptForm, registrationBody, registrationProblem, serverHint } from "./zk.js";

/** A form's values and errors: `set(k)` for onInput, `err(k)` the field's error in words. */
function useClockForm(initial) {
  const [form, setForm] = useState(initial);
  const action = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const err = (k) => friendly(action.fieldError(k), RULES[k]);
  return { form, setForm, action, set, err };
}

/** The protocol choice: a kiosk tablet, or a ZKTeco PUSH hardware clock. */
function ProtocolChoice({ value, onChange, disabled }) {
  return (
    <fieldset class="field protocol-choice" disabled={disabled}>
      <legend>Type of clock</legend>
      {PROTOCOLS.map(([id, label, hint]) => (
        <label class="choice" key={id}>
          <input type="radio" name="protocol" value={id} checked={value === id} onChange={() => onChange(id)} />
          <span>
            <strong>{label}</strong>
            <span class="hint">{hint}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** Where a hardware clock must be pointed (its Cloud Server / ADMS settings). */
export function ServerHint() {
  const hint = serverHint(location);
  return (
    <p class="hint server-hint">
      On the device (COMM. → Cloud Server Setting, or ADMS; menu names vary by model) set the server
      address <code>{hint.address}</code> and port <code>{hint.port}</code>
      {hint.https ? ", with HTTPS if the firmware offers it" : ""}. See docs/hardware-clocks.md.
    </p>
  );
}

/**
 * Registering a clock: a kiosk app (a credential is shown once) or a ZKTeco PUSH hardware clock
 * (found by its serial number). `adopt`: an unregistered device that
 * tried to connect, its serial fixed, registered through its adopt call.
 */
export function RegisterForm({ onRegistered, onCancel, adopt = null }) {
  const { form, setForm, action, set, err } = useClockForm(
    adopt
      ? adoptForm(adopt, browserZone())
      : { protocol: KIOSK_APP, serial_number: "", name: "", site_id: "", time_zone: browserZone() || "UTC" },
  );
  const zk = form.protocol === ZK_PUSH;
  const submit = async (e) => {
    e.preventDefault();
    const problem = registrationProblem(form);
    if (problem) {
      action.setError(problem);
      return;
    }
    try {
      const body = registrationBody(form);
      const clock = await action.run(() =>
        adopt
          ? client.adoptUnregisteredDevice(adopt.serial_number, {
              json: { name: body.name, site_id: body.site_id, time_zone: body.time_zone },
            })
          : client.registerClock({ json: body }),
      );
      onRegistered({ protocol: body.protocol || KIOSK_APP, ...clock });
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
  };
  return (
    <form class="card stack" onSubmit={submit} noValidate aria-labelledby="register-title">
      <h2 id="register-title">{adopt ? `Adopt device ${adopt.serial_number}` : "Register a clock"}</h2>
      <ErrorBanner error={action.generalError} />
      <ProtocolChoice value={form.protocol} onChange={(protocol) => setForm({ ...form, protocol })} disabled={Boolean(adopt)} />
      <div class="grid2">
        <TextField
          label="Serial number"
          hint={
            zk
              ? "Required: as the device shows it under System Info (or About / Device Info)."
              : "As printed on the device, or any unique code for a tablet."
          }
          value={form.serial_number}
          onInput={set("serial_number")}
          error={err("serial_number")}
          autoComplete="off"
          readOnly={Boolean(adopt)}
          required
        />
        <TextField label="Name" hint="Where it is, e.g. Front door." value={form.name} onInput={set("name")} error={err("name")} required />
        <SiteField hint="The site id (optional)." value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
        <TextField
          label="Time zone"
          hint={zk ? "The device is told this zone's UTC offset, again after each DST change." : "Punches at this clock are shown in this zone."}
          value={form.time_zone}
          onInput={set("time_zone")}
          error={err("time_zone")}
          list="time-zones"
          autoComplete="off"
          required
        />
      </div>
      {zk && !adopt && (
        <TextField
          label="Comm Key (optional)"
          hint="Only if one is set on the device (COMM. → Comm Key). The device sends it when it connects; Punchcard then serves only that device. Never shown again."
          value={form.com_key || ""}
          onInput={set("com_key")}
          error={err("com_key")}
          autoComplete="off"
        />
      )}
      {zk && <ServerHint />}
      <TimeZoneList id="time-zones" />
      <div class="row">
        <Button type="submit" busy={action.busy}>
          {adopt ? "Adopt device" : "Register clock"}
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
      <SiteField value={form.site_id} onInput={set("site_id")} error={err("site_id")} />
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
