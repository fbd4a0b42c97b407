// A Manager (or Administrator) of this clock, signed in, enrols another worker's face here:
// the worker's Employee ID, then the worker agrees on screen (the consent the enrolment
// records), then one photo from the camera is sent with the elevation to the kiosk edge,
// which has face-match enrol it for that worker — only a worker of this clock, never the
// Manager themself. The answer is shown; a minute without a touch returns to the camera.

import { useEffect, useRef, useState } from "preact/hooks";
import { captureJpeg, ready } from "./camera.js";
import { ELEVATED_IDLE_MS, refusalText } from "./elevation.js";
import { Keypad } from "./keypad.jsx";
import { useIdle } from "./settings.jsx";

export const CONSENT_TEXT =
  "I agree that my face is enrolled at this organisation's time clocks, to clock in and out.";

export function Enrol({ elevation, stream, roster, onEnrol, onDone }) {
  const [step, setStep] = useState({ name: "employee" });
  const touched = useIdle(ELEVATED_IDLE_MS, onDone);

  if (step.name === "employee") {
    return (
      <Keypad
        key="enrol-employee"
        kind="employee"
        title="Enrol a face: the worker's Employee ID"
        onCancel={onDone}
        onDone={(employeeId) => {
          touched();
          const profile = roster?.byEmployeeId(employeeId);
          setStep({ name: "photo", employeeId, who: profile?.display_name || employeeId });
        }}
      />
    );
  }
  return (
    <section
      class="enrol-screen"
      aria-labelledby="enrol-title"
      onPointerDown={touched}
      onKeyDown={touched}
    >
      {step.name === "photo" ? (
        <Photo step={step} elevation={elevation} stream={stream} onEnrol={onEnrol} setStep={setStep} onDone={onDone} />
      ) : (
        <Outcome step={step} setStep={setStep} onDone={onDone} />
      )}
    </section>
  );
}

function Photo({ step, elevation, stream, onEnrol, setStep, onDone }) {
  const heading = useRef(null);
  const video = useRef(null);
  const [agreed, setAgreed] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (video.current && stream) {
      video.current.srcObject = stream;
      video.current.play?.().catch(() => {});
    }
  }, [stream]);

  async function take() {
    if (!ready(video.current)) return;
    const frame = captureJpeg(video.current);
    if (!frame) return;
    setBusy(true);
    try {
      const { status, answer } = await onEnrol({
        employee_id: step.employeeId,
        consent: true,
        frame_jpeg: frame,
      });
      setStep(
        status === 200
          ? { name: "done", ok: true, title: `Face enrolled for ${answer?.name || step.who}` }
          : { name: "done", ok: false, title: refusalText(status, answer), employeeId: step.employeeId },
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1 id="enrol-title" ref={heading} tabIndex={-1}>
        Enrol {step.who}
      </h1>
      <p class="for-id">
        By {elevation.name} · Employee ID {step.employeeId}
      </p>
      <label class="consent">
        <input type="checkbox" checked={agreed} onChange={(e) => setAgreed(e.currentTarget.checked)} />
        <span>{CONSENT_TEXT}</span>
      </label>
      <div class="camera enrol-camera">
        {stream ? (
          <video ref={video} autoplay muted playsinline aria-label="Camera view" />
        ) : (
          <div class="no-camera">
            <p>No camera: a face cannot be enrolled on this tablet</p>
          </div>
        )}
      </div>
      <div class="actions">
        <button type="button" class="primary big" onClick={take} disabled={!agreed || busy || !stream}>
          {busy ? "Enrolling…" : "Take photo"}
        </button>
        <button type="button" class="secondary big" onClick={onDone}>
          Cancel
        </button>
      </div>
    </>
  );
}

function Outcome({ step, setStep, onDone }) {
  const done = useRef(null);
  useEffect(() => done.current?.focus(), []);
  return (
    <div class={`result ${step.ok ? "ok" : "bad"}`} role="status">
      <div class="result-icon" aria-hidden="true">
        {step.ok ? "✓" : "✕"}
      </div>
      <h1 id="enrol-title" class="result-title">
        {step.title}
      </h1>
      <div class="actions">
        <button type="button" class="primary big" onClick={() => setStep({ name: "employee" })}>
          Enrol another
        </button>
        <button ref={done} type="button" class="secondary big" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
