// "Hardware clock biometrics" on a worker's Edit page: how many fingerprint, face and palm
// templates device-sync holds from hardware (ZK) clocks — never the templates — each clock's
// copy or deletion state, and deleting them everywhere.
import { client } from "../../api.js";
import { formatDateTime } from "../../../shared/format.js";
import { Badge, ConfirmButton, ErrorBanner, Notice, useAction, useLoad } from "../../ui.jsx";
import { biometricsClockState, biometricsSummary, hasBiometrics } from "./biometrics.js";

export function HardwareBiometrics({ worker }) {
  const data = useLoad(() => client.workerBiometrics(worker.id), [worker.id]);
  const action = useAction();
  const remove = async () => {
    try {
      await action.run(() => client.deleteWorkerBiometrics(worker.id));
      data.reload();
    } catch {
      /* shown */
    }
  };
  const b = data.data;
  return (
    <section class="card stack" aria-labelledby="hw-bio-h">
      <h2 id="hw-bio-h">Hardware clock biometrics</h2>
      <ErrorBanner error={data.error || action.generalError} />
      {b && (
        <p>
          {biometricsSummary(b)}
          {b.updated_at ? `, last enrolled ${formatDateTime(b.updated_at)}` : ""}.
        </p>
      )}
      {b && b.clocks.length > 0 && (
        <ul aria-label="Clocks">
          {b.clocks.map((c) => {
            const [tone, text] = biometricsClockState(c);
            return (
              <li key={c.clock_id}>
                {c.name}: <Badge tone={tone}>{text}</Badge>
              </li>
            );
          })}
        </ul>
      )}
      <p class="hint">
        Fingerprints and faces enrolled on a hardware clock are kept encrypted and copied to the
        worker's other hardware clocks.
      </p>
      {hasBiometrics(b) && (
        <div>
          <ConfirmButton
            label="Delete biometric data"
            title="Delete hardware clock biometrics?"
            message={`${worker.name}'s fingerprints and faces from hardware clocks will be deleted here and from every hardware clock they are on.`}
            confirmLabel="Delete"
            busy={action.busy}
            onConfirm={remove}
          />
        </div>
      )}
      {b && !hasBiometrics(b) && <Notice>Nothing from hardware clocks is stored for this worker.</Notice>}
    </section>
  );
}
