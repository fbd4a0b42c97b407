// Corrections, each with a reason kept in the ledger: add a missed punch, replace a punch (the
// original voided and the corrected one added together), or void one. The date and time are
// typed in the zone of the punch's clock or site.
import { useState } from "preact/hooks";
import { client } from "../../api.js";
import { browserZone, inZone, isoToZoned, zonedToIso } from "../../../shared/format.js";
import { SelectField, TextField, useAction } from "../../ui.jsx";
import { FormDialog, TimeZoneList, friendly } from "../common.jsx";
import { ClockSelect, WorkerSelect } from "../pickers.jsx";
import { correctionKey } from "./query.js";

const REASON_RULE = "Give a reason of at least 3 characters.";
const ZONE_RULE = "Use an IANA time zone such as Europe/Madrid.";

export /** Add a missed punch, or replace / void one. `mode`: "add" | "replace" | "void". */
function CorrectionDialog({ mode, punch, onClose, onDone }) {
  const initial = () => {
    if (mode === "add") {
      const zone = browserZone();
      return { worker_id: "", direction: "IN", at: isoToZoned(new Date().toISOString(), zone), clock_id: "", clock_zone: "", time_zone: zone, reason: "" };
    }
    return {
      direction: punch.direction,
      at: isoToZoned(punch.punched_at, punch.time_zone),
      reason: "",
    };
  };
  const [form, setForm] = useState(initial);
  const [local, setLocal] = useState({});
  // One name for the correction this dialog makes: sent again (a second click, a retry after a
  // lost answer) it makes nothing twice.
  const [headers] = useState(() => ({ "Idempotency-Key": correctionKey() }));
  const action = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const zone = mode === "add" ? (form.clock_id && form.clock_zone) || form.time_zone : punch?.time_zone;
  const apiField = (k) => {
    const m = action.fieldError(k);
    return k === "reason" ? friendly(m, REASON_RULE) : friendly(m, k === "time_zone" ? ZONE_RULE : null);
  };
  const err = (k) => local[k] || apiField(k);

  const submit = async () => {
    const problems = {};
    if (form.reason.trim().length === 0) problems.reason = "Give a reason.";
    if (mode === "add" && !form.worker_id) problems.worker_id = "Choose the worker.";
    if (mode !== "void" && !form.at) problems.punched_at = "Give the date and time.";
    setLocal(problems);
    if (Object.keys(problems).length) return;
    let punchedAt;
    if (mode !== "void") {
      try {
        punchedAt = zonedToIso(form.at, zone);
      } catch {
        setLocal({ time_zone: ZONE_RULE });
        return;
      }
    }
    try {
      const result = await action.run(() => {
        if (mode === "void") return client.voidPunch(punch.id, { headers, json: { reason: form.reason } });
        if (mode === "replace") {
          const json = { reason: form.reason, direction: form.direction };
          if (punchedAt !== new Date(punch.punched_at).toISOString()) json.punched_at = punchedAt;
          return client.replacePunch(punch.id, { headers, json });
        }
        const json = { worker_id: form.worker_id, direction: form.direction, punched_at: punchedAt, reason: form.reason };
        if (form.clock_id) json.clock_id = form.clock_id;
        else json.time_zone = form.time_zone;
        return client.addPunch({ headers, json });
      });
      onDone(result);
    } catch {
      /* next to its field, or in the dialog's banner; the dialog keeps what was typed */
    }
  };

  const title = { add: "Add a missed punch", replace: "Replace punch", void: "Void punch" }[mode];
  const describe =
    mode === "void"
      ? `${punch.display_name}, ${punch.direction} at ${inZone(punch.punched_at, punch.time_zone)}. The punch stays in the ledger, marked voided, and stops counting.`
      : mode === "replace"
        ? `${punch.display_name}, ${punch.direction} at ${inZone(punch.punched_at, punch.time_zone)}. The original is voided and the corrected punch added, together.`
        : "A new ledger entry with your reason; the worker's timesheet counts it.";
  const timeHint = `In ${zone || "the browser's time zone"}.`;
  return (
    <FormDialog
      open
      title={title}
      describe={describe}
      submitLabel={{ add: "Add punch", replace: "Replace punch", void: "Void punch" }[mode]}
      variant={mode === "void" ? "danger" : "primary"}
      busy={action.busy}
      error={action.generalError}
      onClose={onClose}
      onSubmit={submit}
    >
      {mode === "add" && (
        <WorkerSelect value={form.worker_id} onChange={(id) => setForm((f) => ({ ...f, worker_id: id }))} error={err("worker_id")} emptyLabel="Choose a worker" />
      )}
      {mode !== "void" && (
        <>
          <SelectField label="Direction" value={form.direction} onChange={set("direction")} error={err("direction")} options={[["IN", "IN"], ["OUT", "OUT"]]} />
          {mode === "add" && (
            <ClockSelect
              value={form.clock_id}
              onChange={(id, clock) => setForm((f) => ({ ...f, clock_id: id, clock_zone: clock?.time_zone || "" }))}
              error={err("clock_id")}
              emptyLabel="No clock (give the time zone)"
              labelOf={(c) => `${c.name} (${c.time_zone})`}
            />
          )}
          {mode === "add" && !form.clock_id && (
            <TextField label="Time zone" value={form.time_zone} onInput={set("time_zone")} error={err("time_zone")} list="punch-zones" autoComplete="off" />
          )}
          <TimeZoneList id="punch-zones" />
          <TextField label="Date and time" type="datetime-local" hint={timeHint} value={form.at} onInput={set("at")} error={err("punched_at")} />
        </>
      )}
      <TextField multiline label="Reason" hint="Kept in the ledger with your name." value={form.reason} onInput={set("reason")} error={err("reason")} required />
    </FormDialog>
  );
}
