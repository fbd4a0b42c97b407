// The Edit page of a worker: the details form, PIN Management, Badge cards and the biometrics
// hardware clocks uploaded.
import { useEffect, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { client } from "../../api.js";
import { ErrorBanner, Loading, Page, useMe } from "../../ui.jsx";
import { readsOnly } from "../../roles.js";
import { BadgeCards } from "./card-section.jsx";
import { HardwareBiometrics } from "./biometrics.jsx";
import { DetailsForm } from "./details.jsx";
import { PinManagement } from "./pin.jsx";
import { useWorker } from "./profile.jsx";

export function WorkerEdit() {
  const { params } = useRoute();
  const worker = useWorker(params.id);
  const [current, setCurrent] = useState(null);
  const viewer = readsOnly(useMe());
  useEffect(() => setCurrent(worker.data), [worker.data]);
  const back = (
    <a class="back" href={`/manage/workers/${params.id}`}>
      ← {current ? current.name : "Worker"}
    </a>
  );
  if (worker.error) {
    return (
      <Page title="Edit worker" back={back}>
        <ErrorBanner error={worker.error} />
      </Page>
    );
  }
  if (!current) return <Loading what="Loading the worker" />;
  return (
    <Page title={`Edit ${current.name}`} back={back}>
      <div class="grid2">
        <section class="card" aria-labelledby="details-h">
          <h2 id="details-h">Details</h2>
          <DetailsForm
            initial={current}
            submitLabel="Save changes"
            readOnly={viewer}
            onSubmit={async (form) => {
              const changes = {};
              for (const [k, v] of Object.entries(form)) if (v !== current[k]) changes[k] = v;
              if (Object.keys(changes).length === 0) return;
              setCurrent(await client.updateWorker(current.id, { json: changes }));
            }}
          />
        </section>
        <PinManagement worker={current} onChange={setCurrent} />
        <BadgeCards worker={current} />
        <HardwareBiometrics worker={current} />
      </div>
    </Page>
  );
}
