// Face enrolment on a worker's page: photos chosen from files or taken with the webcam (a pose
// prompted for each: enrol-guide.js), each with its verdict from face-match (accepted, or why
// not), a sysadmin's confirmation for twins or lookalikes, and deleting the biometric data.
// Photos stay in this page's memory only; nothing is stored in the browser.
import { useEffect, useRef, useState } from "preact/hooks";
import { client } from "../../api.js";
import { countOf, formatDateTime } from "../../../shared/format.js";
import { Badge, Button, ConfirmButton, ErrorBanner, Notice, useAction, useMe } from "../../ui.jsx";
import { readsOnly } from "../../roles.js";
import { MAX_PHOTOS, afterFaceDeleted, isConfirmableLookalike, nextPose, photoAdvice, withoutFace } from "./enrol-guide.js";
const REASONS = {
  NO_FACE: "No face found",
  MULTIPLE_FACES: "Two or more faces",
  FACE_TOO_SMALL: "Face too small — move closer",
  TOO_BLURRY: "Too blurry",
  TOO_DARK: "Too dark",
  TOO_BRIGHT: "Too bright",
  INVALID_IMAGE: "Not a readable photo",
};

let nextKey = 1;

function photoOf(blob, name) {
  return { key: nextKey++, blob, name, url: URL.createObjectURL(blob), verdict: null };
}

export function FaceSection({ worker, face }) {
  const [photos, setPhotos] = useState([]);
  const [camera, setCamera] = useState(false);
  const [done, setDone] = useState(null);
  const action = useAction();
  const fileInput = useRef(null);
  const viewer = readsOnly(useMe());

  // Object URLs are freed when photos leave the list or the page.
  useEffect(() => () => photos.forEach((p) => URL.revokeObjectURL(p.url)), []);

  const add = (items) => {
    setDone(null);
    action.setError(null);
    setPhotos((current) => [...current.map((p) => ({ ...p, verdict: null })), ...items].slice(0, MAX_PHOTOS));
  };
  const removePhoto = (key) => {
    setPhotos((current) => {
      const gone = current.find((p) => p.key === key);
      if (gone) URL.revokeObjectURL(gone.url);
      return current.filter((p) => p.key !== key);
    });
  };
  const upload = async (confirmLookalike = false) => {
    const form = new FormData();
    photos.forEach((p) => form.append("photos", p.blob, p.name));
    if (confirmLookalike) form.append("confirm_lookalike", "true");
    try {
      const status = await action.run(() => client.enrolWorkerFace(worker.id, { body: form }));
      setPhotos((current) =>
        current.map((p, i) => ({ ...p, verdict: { accepted: true, quality: status.templates?.[i]?.quality } })),
      );
      setDone(`Face enrolled from ${countOf(status.template_count, "photo")}.`);
      face.reload();
    } catch (error) {
      const verdicts = error.body?.photos;
      if (Array.isArray(verdicts)) {
        setPhotos((current) => current.map((p, i) => ({ ...p, verdict: verdicts[i] || null })));
      }
    }
  };
  const remove = async () => {
    setDone(null);
    try {
      await action.run(() => client.deleteWorkerFace(worker.id));
      setDone("Biometric data deleted.");
      face.reload();
    } catch {
      /* shown */
    }
  };

  const status = face.data;
  const lookalike = isConfirmableLookalike(action.error);
  return (
    <section class="card stack" aria-labelledby="face-h">
      <h2 id="face-h">Face</h2>
      <ErrorBanner error={face.error} />
      {status &&
        (status.enrolled ? (
          <p>
            <Badge tone="ok">Face enrolled</Badge> from {countOf(status.template_count, "photo")},{" "}
            {formatDateTime(status.updated_at)}.
            {status.verify_one_to_one && (
              <>
                {" "}
                <Badge>Verified 1:1</Badge> Looks like another enrolled worker: at a clock this
                worker types their Employee ID first, then the face is checked.
              </>
            )}
          </p>
        ) : (
          <p>
            <Badge>No face enrolled</Badge> {withoutFace(worker)}
          </p>
        ))}
      {viewer && <Notice>Only system administrators and managers enrol faces.</Notice>}
      {!viewer && worker.status === "Inactive" && <Notice>An Inactive worker cannot be enrolled.</Notice>}
      <ErrorBanner error={action.generalError || (action.error?.field === "photos" ? action.error : null)} />
      {done && <Notice tone="ok">{done}</Notice>}
      {lookalike && (
        <div class="stack">
          <Notice>
            If {worker.name} and the other worker are twins or look alike, you may enrol them anyway.
            Both are then verified 1:1 at every clock: Employee ID first, then the face.
          </Notice>
          <div>
            <ConfirmButton
              label="Enrol as twins or lookalikes"
              title="Enrol a face that matches another worker?"
              message={`${worker.name}'s face matches another enrolled worker. Enrol only if they are different people who look alike. Both will type their Employee ID before the face check.`}
              confirmLabel="Enrol anyway"
              variant="secondary"
              busy={action.busy}
              onConfirm={() => upload(true)}
            />
          </div>
        </div>
      )}
      {photos.length > 0 && (
        <ul class="photos" aria-label="Photos to enrol">
          {photos.map((p, i) => (
            <li key={p.key}>
              <img src={p.url} alt={`Photo ${i + 1}: ${p.name}`} />
              <Verdict verdict={p.verdict} />
              <button type="button" class="btn btn-link" onClick={() => removePhoto(p.key)}>
                Remove photo {i + 1}
              </button>
            </li>
          ))}
        </ul>
      )}
      {camera && (
        <Webcam
          prompt={nextPose(photos.length)}
          onCapture={(blob) => add([photoOf(blob, `webcam-${new Date().toISOString()}.jpg`)])}
          onClose={() => setCamera(false)}
        />
      )}
      {!viewer && (
        <div class="row">
          <input
            ref={fileInput}
            id={`face-files-${worker.id}`}
            class="sr-only"
            type="file"
            accept="image/jpeg,image/png"
            multiple
            onChange={(e) => {
              add([...e.currentTarget.files].map((f) => photoOf(f, f.name)));
              e.currentTarget.value = "";
            }}
          />
          <Button type="button" variant="secondary" onClick={() => fileInput.current.click()} disabled={photos.length >= MAX_PHOTOS}>
            Upload photos
          </Button>
          {!camera && (
            <Button type="button" variant="secondary" onClick={() => setCamera(true)} disabled={photos.length >= MAX_PHOTOS}>
              Take photo with webcam
            </Button>
          )}
          <Button type="button" busy={action.busy} disabled={photos.length === 0} onClick={() => upload()}>
            {status?.enrolled ? "Replace face data" : "Enrol face"}
            {photos.length > 0 ? ` (${countOf(photos.length, "photo")})` : ""}
          </Button>
        </div>
      )}
      {!viewer && (
        <p class="hint">
          {photoAdvice(photos.length)} Face clearly visible, the worker alone. Enrolling replaces any
          earlier face data.
        </p>
      )}
      {status?.enrolled && !viewer && (
        <div>
          <ConfirmButton
            label="Delete biometric data"
            title="Delete biometric data?"
            message={`${worker.name}'s face data will be deleted everywhere, including every clock. ${afterFaceDeleted(worker)}`}
            confirmLabel="Delete"
            busy={action.busy}
            onConfirm={remove}
          />
        </div>
      )}
    </section>
  );
}

function Verdict({ verdict }) {
  if (!verdict) return <span class="muted">Not sent yet</span>;
  if (verdict.accepted) {
    return (
      <span>
        <Badge tone="ok">Accepted</Badge>
        {typeof verdict.quality === "number" ? ` quality ${Math.round(verdict.quality * 100)}%` : ""}
      </span>
    );
  }
  return (
    <span>
      <Badge tone="danger">Refused</Badge> {REASONS[verdict.reason] || verdict.message || verdict.reason}
    </span>
  );
}

function Webcam({ prompt, onCapture, onClose }) {
  const video = useRef(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stream = null;
    navigator.mediaDevices
      ?.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false })
      .then((s) => {
        stream = s;
        if (video.current) video.current.srcObject = s;
      })
      .catch(() => setError("No camera is available, or the browser was not allowed to use it."));
    if (!navigator.mediaDevices) setError("This browser cannot use a camera here.");
    return () => stream?.getTracks().forEach((t) => t.stop());
  }, []);
  const capture = () => {
    const v = video.current;
    if (!v || !v.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext("2d").drawImage(v, 0, 0);
    canvas.toBlob((blob) => blob && onCapture(blob), "image/jpeg", 0.92);
  };
  return (
    <div class="webcam stack">
      {error ? (
        <p role="alert" class="field-error">
          {error}
        </p>
      ) : (
        <video ref={video} autoPlay playsInline muted aria-label="Webcam preview" />
      )}
      {prompt && (
        <p class="pose-prompt" aria-live="polite">
          Next photo: {prompt}
        </p>
      )}
      <div class="row">
        <Button type="button" onClick={capture} disabled={!!error || !prompt}>
          Capture photo
        </Button>
        <Button type="button" variant="secondary" onClick={onClose}>
          Close camera
        </Button>
      </div>
    </div>
  );
}
