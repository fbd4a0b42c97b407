// A worker's profile: the facts, face enrolment (face.jsx) and their clocks with each one's
// sync state (clocks.jsx).
import { useRoute } from "preact-iso";
import { client } from "../../api.js";
import { ErrorBanner, Loading, Page, useLoad } from "../../ui.jsx";
import { WorkerClocks } from "./clocks.jsx";
import { FaceSection } from "./face.jsx";
import { PinFact, StatusBadge } from "./status.jsx";

export function useWorker(id) {
  return useLoad(() => client.getWorker(id), [id]);
}

export function WorkerProfile() {
  const { params } = useRoute();
  const worker = useWorker(params.id);
  const face = useLoad(() => client.getWorkerFace(params.id), [params.id]);
  const back = (
    <a class="back" href="/manage/workers">
      ← Workers
    </a>
  );
  if (worker.error) {
    return (
      <Page title="Worker" back={back}>
        <ErrorBanner error={worker.error} />
      </Page>
    );
  }
  if (!worker.data) return <Loading what="Loading the worker" />;
  const w = worker.data;
  return (
    <Page
      title={w.name}
      back={back}
      actions={
        <a class="btn btn-primary" href={`/manage/workers/${w.id}/edit`}>
          Edit
        </a>
      }
    >
      <p class="subtitle">
        <span>{w.employee_id}</span>
        {w.job_title && <span> · {w.job_title}</span>} <StatusBadge status={w.status} />
      </p>
      <div class="grid2">
        <section class="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl class="facts">
            <dt>Employee ID</dt>
            <dd>{w.employee_id}</dd>
            <dt>Job title</dt>
            <dd>{w.job_title || "—"}</dd>
            <dt>Site</dt>
            <dd>{w.site_id || "—"}</dd>
            <dt>Status</dt>
            <dd>{w.status}</dd>
            <dt>Face enrolled</dt>
            <dd>{face.data ? (face.data.enrolled ? "Yes" : "No") : "…"}</dd>
            <dt>PIN</dt>
            <dd>
              <PinFact worker={w} />
            </dd>
          </dl>
        </section>
        <FaceSection worker={w} face={face} />
      </div>
      <WorkerClocks worker={w} />
    </Page>
  );
}
