// A clock's recent commands (7 days): what device-sync queued for it, and whether the clock
// acknowledged each (or failed, and why); for a ZKTeco PUSH clock, the device's return code and
// what it means (zk.js).
import { inZone } from "../../../shared/format.js";
import { Badge, Button, ErrorBanner, Loading } from "../../ui.jsx";
import { Empty, WorkerLink } from "../common.jsx";
import { KINDS, commandState } from "./rules.js";
import { isZk, returnCodeText } from "./zk.js";

function CommandState({ command, clockStatus }) {
  const [tone, text] = commandState(command, clockStatus);
  return <Badge tone={tone}>{text}</Badge>;
}

function CommandRow({ command: cmd, clock, names }) {
  const w = names[cmd.worker_id];
  return (
    <tr>
      <td class="num">{cmd.sequence}</td>
      <td>{KINDS[cmd.kind] || cmd.kind}</td>
      <td>
        {cmd.worker_id ? (
          <WorkerLink id={cmd.worker_id} name={w?.display_name} employeeId={w?.employee_id} />
        ) : (
          "—"
        )}
      </td>
      <td>
        <CommandState command={cmd} clockStatus={clock.status} />
        {cmd.detail && <div class="muted small">{cmd.detail}</div>}
      </td>
      <td>{inZone(cmd.created_at, clock.time_zone)}</td>
      <td>{cmd.acked_at ? inZone(cmd.acked_at, clock.time_zone) : "—"}</td>
      {isZk(clock) && <td>{cmd.acked_at && cmd.result_code != null ? returnCodeText(cmd.result_code) : "—"}</td>}
    </tr>
  );
}

/** `commands`: the list (useLoad); `names`: display name and Employee ID by worker id. */
export function ClockCommands({ clock, commands, names, onRefresh }) {
  return (
    <section class="card stack" aria-labelledby="clock-commands">
      <div class="section-head">
        <h2 id="clock-commands">Recent commands</h2>
        <Button type="button" variant="secondary" onClick={onRefresh} busy={commands.loading}>
          Refresh
        </Button>
      </div>
      <ErrorBanner error={commands.error} />
      {commands.loading && !commands.data ? (
        <Loading what="Loading commands" />
      ) : (
        commands.data && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col" class="num">
                    Sequence
                  </th>
                  <th scope="col">Command</th>
                  <th scope="col">Worker</th>
                  <th scope="col">State</th>
                  <th scope="col">Queued</th>
                  <th scope="col">Acknowledged</th>
                  {isZk(clock) && <th scope="col">Device's answer</th>}
                </tr>
              </thead>
              <tbody>
                {commands.data.data.map((cmd) => (
                  <CommandRow key={cmd.command_id} command={cmd} clock={clock} names={names} />
                ))}
              </tbody>
            </table>
            {commands.data.data.length === 0 && <Empty>No commands for this clock in the last 7 days.</Empty>}
          </div>
        )
      )}
    </section>
  );
}
