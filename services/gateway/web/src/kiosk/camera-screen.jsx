// The main screen: the camera view with its hint, and "Use PIN Instead". A loop samples the
// view every 120 ms; when the face gate allows and the view is steady, a burst of frames is
// captured (camera.js) and sent (onFrame(frame, burst, scores, aligned)), one attempt at a time:
// aligned face chips where the face models found one face in every frame, else full frames.

import { useEffect, useRef, useState } from "preact/hooks";
import { captureBurst, ready, sample, snapshot } from "./camera.js";
import { HOLD_HINT, judgeFrame, LOOK_HINT } from "./face-gate.js";
import {
  clientScores,
  detectFaces,
  followFace,
  loadLiveness,
  PLACEMENT_HINTS,
  placement,
  status,
} from "./liveness.js";

const SAMPLE_MS = 120;
// In-browser advice ("Move closer"…) holds a steady view back at most this many times in a
// row; then the burst goes anyway and the server decides (the models may miss a face).
const MAX_HELD_BACK = 3;

export function CameraScreen({ stream, problem, notice, gate, view, onFrame, onPin, onSignIn }) {
  const video = useRef(null);
  const canvas = useRef(null);
  const busy = useRef(false);
  const [hint, setHint] = useState(LOOK_HINT);
  const [models, setModels] = useState(status.state);
  const heldBack = useRef(0);
  const pinButton = useRef(null);

  useEffect(() => {
    if (!stream) return;
    loadLiveness().then(() => setModels(status.state));
  }, [stream]);

  useEffect(() => {
    if (video.current && stream) {
      video.current.srcObject = stream;
      video.current.play?.().catch(() => {});
    }
  }, [stream]);

  useEffect(() => {
    if (!stream) return undefined;
    if (!canvas.current) canvas.current = document.createElement("canvas");
    const timer = setInterval(async () => {
      const v = video.current;
      if (busy.current || !ready(v)) return;
      const y = sample(v, canvas.current);
      const seen = view.current.feed(y, performance.now());
      const { verdict, gate: next } = judgeFrame(gate.current, Date.now(), seen);
      gate.current = next;
      if (verdict === "wait") return;
      if (verdict === "look" || verdict === "hold") {
        setHint(verdict === "look" ? LOOK_HINT : HOLD_HINT);
        return;
      }
      busy.current = true;
      try {
        // A still of this frame, detected on and then reused as the burst's first frame: its
        // chip is cut with its own mesh at no further cost.
        const at = performance.now();
        const still = snapshot(v);
        const faces = await detectFaces(still);
        let scores = null;
        if (faces) {
          const where = placement(faces, v.videoWidth, v.videoHeight);
          if (where !== "ok" && heldBack.current < MAX_HELD_BACK) {
            heldBack.current += 1;
            setHint(PLACEMENT_HINTS[where]);
            return;
          }
          if (faces.length === 1) scores = clientScores(faces[0]);
        }
        heldBack.current = 0;
        const shot = await captureBurst(v, { first: { still, faces, at }, detect: faces ? followFace : null });
        if (!shot) return;
        view.current.remember(y);
        await onFrame(shot.frame, shot.burst, scores, shot.aligned);
      } finally {
        busy.current = false;
      }
    }, SAMPLE_MS);
    return () => clearInterval(timer);
  }, [stream, onFrame]);

  return (
    <section class="camera-screen" aria-labelledby="camera-title" data-face-models={models} data-face-backend={status.backend || ""} data-face-threads={status.threads ?? ""}>
      <h1 id="camera-title" class="sr-only">
        Clock in or out
      </h1>
      <div class="camera">
        {stream ? (
          <video ref={video} autoplay muted playsinline aria-label="Camera view" />
        ) : (
          <div class="no-camera">
            <p>{problem || "Starting the camera…"}</p>
          </div>
        )}
        {stream && (
          <p class={`hint ${notice ? "notice" : ""}`} aria-hidden="true">
            {notice || hint}
          </p>
        )}
      </div>
      <div class="camera-actions">
        <button ref={pinButton} type="button" class="primary big pin-button" onClick={onPin}>
          Use PIN Instead
        </button>
        {onSignIn && (
          <button
            type="button"
            class="secondary sign-in-button"
            onClick={onSignIn}
            aria-label="Manager or Administrator sign-in"
          >
            Manager
          </button>
        )}
      </div>
    </section>
  );
}
