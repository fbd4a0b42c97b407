// PIN Management on a worker's Edit page (sysadmins; others see it disabled): set a PIN,
// generate one (shown once), remove it, unlock it, and whether a PIN is allowed at all.
import { useState } from "preact/hooks";
import { client } from "../../api.js";
import { PIN_MAX_LENGTH, PIN_MIN_LENGTH } from "../../../shared/credentials.js";
import { formatDate, formatDateTime } from "../../../shared/format.js";
import { pinCharsOf } from "../../../shared/keys.js";
import { Button, ConfirmButton, ErrorBanner, Notice, Switch, TextField, useAction, useMe } from "../../ui.jsx";
import { pinLock, pinLockText } from "./pin-locks.js";

export function PinManagement({ worker, onChange }) {
  const [pin, setPin] = useState("");
  const [generated, setGenerated] = useState(null);
  const [done, setDone] = useState(null);
  const role = useMe()?.role;
  const action = useAction();
  const act = async (fn, message) => {
    setDone(null);
    try {
      const result = await action.run(fn);
      setDone(message);
      return result;
    } catch {
      return null;
    }
  };
  const setPinSubmit = async (e) => {
    e.preventDefault();
    setGenerated(null);
    const updated = await act(() => client.setWorkerPin(worker.id, { json: { pin } }), "PIN saved.");
    if (updated) {
      setPin("");
      onChange(updated);
    }
  };
  const generate = async () => {
    const answer = await act(() => client.generateWorkerPin(worker.id), null);
    if (answer) {
      setGenerated(answer.pin);
      onChange(answer.worker);
    }
  };
  const remove = async () => {
    setGenerated(null);
    const updated = await act(() => client.removeWorkerPin(worker.id), "PIN removed.");
    if (updated) onChange(updated);
  };
  const unlock = async () => {
    const updated = await act(() => client.unlockWorkerPin(worker.id), "PIN unlocked.");
    if (updated) onChange(updated);
  };
  const allow = async (allowed) => {
    const updated = await act(
      () => client.setWorkerPinAllowed(worker.id, { json: { allowed } }),
      allowed ? "PIN use allowed." : "PIN use turned off for this worker.",
    );
    if (updated) onChange(updated);
  };
  const sysadmin = role === "sysadmin";
  const lock = pinLock(worker);
  return (
    <section class="card stack" aria-labelledby="pin-h">
      <h2 id="pin-h">PIN Management</h2>
      {worker.pin_set && (
        <Notice tone="ok">
          PIN is currently set{worker.pin_set_at ? ` (since ${formatDate(worker.pin_set_at)})` : ""}.
        </Notice>
      )}
      {lock && (
        <div class="banner banner-warn row" role="status">
          <span>
            {pinLockText(lock)}, until {formatDateTime(lock.until)}.
          </span>
          {sysadmin && (
            <Button variant="secondary" type="button" busy={action.busy} onClick={unlock}>
              Unlock PIN
            </Button>
          )}
        </div>
      )}
      {role && !sysadmin && <Notice>Only a system administrator can change PINs.</Notice>}
      <ErrorBanner error={action.generalError} />
      {done && <p role="status">{done}</p>}
      {generated && (
        <div class="banner banner-info stack" role="status">
          <p>
            New PIN for {worker.name} — give it to them now. It is shown once and cannot be shown
            again:
          </p>
          <p class="secret" aria-label={`PIN ${generated.split("").join(" ")}`}>
            {generated}
          </p>
          <div>
            <Button variant="secondary" type="button" onClick={() => setGenerated(null)}>
              Done, hide it
            </Button>
          </div>
        </div>
      )}
      <form class="stack" onSubmit={setPinSubmit} noValidate>
        <TextField
          label="PIN"
          hint={`Enter a ${PIN_MIN_LENGTH}–${PIN_MAX_LENGTH} digit PIN for this worker to use at the kiosk`}
          type="password"
          inputMode="numeric"
          autoComplete="new-password"
          maxLength={PIN_MAX_LENGTH}
          value={pin}
          disabled={!sysadmin || !worker.pin_allowed}
          onInput={(e) => setPin(pinCharsOf(e.currentTarget.value))}
          error={action.fieldError("pin")}
        />
        <div class="row">
          <Button type="submit" busy={action.busy} disabled={!sysadmin || !worker.pin_allowed || pin.length === 0}>
            Set PIN
          </Button>
          <Button type="button" variant="secondary" busy={action.busy} disabled={!sysadmin || !worker.pin_allowed} onClick={generate}>
            Generate PIN
          </Button>
          {worker.pin_set && sysadmin && (
            <RemovePin worker={worker} busy={action.busy} onConfirm={remove} />
          )}
        </div>
      </form>
      <PinAllowed worker={worker} disabled={!sysadmin || action.busy} onChange={allow} />
    </section>
  );
}

function RemovePin({ worker, busy, onConfirm }) {
  return (
    <ConfirmButton
      label="Remove PIN"
      title="Remove PIN?"
      message={`${worker.name} will not be able to clock in with a PIN until a new one is set.`}
      confirmLabel="Remove PIN"
      busy={busy}
      onConfirm={onConfirm}
    />
  );
}

function PinAllowed({ worker, disabled, onChange }) {
  return (
    <div>
      <Switch label="PIN allowed" checked={worker.pin_allowed} disabled={disabled} onChange={onChange} />
      <p class="hint">When off, this worker can only clock in by face.</p>
    </div>
  );
}
