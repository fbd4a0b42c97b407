// A worker's role on one clock (User / Manager / Administrator), as a select that saves at
// once: on the worker's Clocks section and on the clock's "Who may use this clock".
import { client } from "../../api.js";
import { SelectField, useAction } from "../../ui.jsx";
import { roleName, roleOptions } from "./cards.js";

export function ClockRoleSelect({ clockId, workerId, role, sysadmin, canChange, label, onChanged }) {
  const action = useAction();
  const current = role || "USER";
  if (!canChange) return <span>{roleName(current)}</span>;
  const change = async (e) => {
    const clockRole = e.currentTarget.value;
    if (clockRole === current) return;
    try {
      await action.run(() => client.assignWorkerToClock(clockId, workerId, { json: { clock_role: clockRole } }));
      onChanged?.(clockRole);
    } catch {
      /* shown next to the select */
    }
  };
  const options = roleOptions(sysadmin, current);
  return (
    <SelectField
      label={label}
      value={current}
      disabled={action.busy || options.length < 2}
      onChange={change}
      error={action.error ? action.error.message : null}
      options={options}
    />
  );
}
