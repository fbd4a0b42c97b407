// In-browser face detection and passive liveness (@vladmandic/human: BlazeFace, FaceMesh and
// its anti-spoofing and liveness models), loaded only from this origin: the build copies the
// models into /assets/human-<version>/ (vite.config.js) and the library itself is a bundled
// chunk — nothing is fetched from anywhere else. It guides the worker ("Move closer", "Centre
// your face") and its scores go with the attempt, but the server never trusts them: face-match
// runs its own check (docs/face-match.md, "Liveness"). Where the browser cannot run the models
// (no WebGL, a failed load), the kiosk works as before: steadiness only, the server's check.

/* global __HUMAN_MODELS__, __TFJS_WASM__ */
import { BURST_FRAMES } from "./camera.js";

const MODELS = typeof __HUMAN_MODELS__ === "string" ? __HUMAN_MODELS__ : "/assets/human/";
const WASM = typeof __TFJS_WASM__ === "string" ? __TFJS_WASM__ : "/assets/tfjs-wasm/";

// Pure: the TensorFlow.js backend for this browser's WebGL renderer (its name, or null without
// WebGL): the GPU where there is one; WebAssembly where WebGL is a software renderer
// (SwiftShader, llvmpipe), which runs these models tens of times slower than the CPU does.
export function backendFor(renderer) {
  if (!renderer) return "wasm";
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? "wasm" : "webgl";
}

function webglRenderer() {
  try {
    const gl = document.createElement("canvas").getContext("webgl");
    if (!gl) return null;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || "");
  } catch {
    return null;
  }
}

// How much a still may differ from the one the models last saw (Human's measure: the mean
// squared difference per pixel and channel, over 255) and still count as the same picture, so
// that FaceMesh may follow the face from the last mesh's box (FOLLOW). Human's default: camera
// noise and a worker holding still stay well under it; someone stepping in does not.
export const SAME_PICTURE = 0.7;
// A burst's further frames follow the face for this long at most after BlazeFace last ran.
export const FOLLOW_MS = 1000;

export const CONFIG = {
  modelBasePath: MODELS,
  backend: "webgl", // or "wasm": backendFor() decides at load
  wasmPath: WASM,
  wasmPlatformFetch: false,
  async: true,
  warmup: "none",
  // Every still is compared with the one before (so FOLLOW can tell the same picture), but
  // nothing is reused unless a call allows it: LOOK allows nothing.
  cacheSensitivity: SAME_PICTURE,
  debug: false,
  filter: { enabled: false },
  gesture: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  segmentation: { enabled: false },
  face: {
    enabled: true,
    detector: {
      modelPath: "blazeface.json",
      rotation: false,
      maxDetected: 2,
      minConfidence: 0.5,
      skipFrames: 0,
      skipTime: 0,
    },
    mesh: { enabled: true, modelPath: "facemesh.json" },
    attention: { enabled: false },
    iris: { enabled: false },
    description: { enabled: false },
    emotion: { enabled: false },
    antispoof: { enabled: true, modelPath: "antispoof.json", skipFrames: 0, skipTime: 0 },
    liveness: { enabled: true, modelPath: "liveness.json", skipFrames: 0, skipTime: 0 },
  },
};

// The two ways the kiosk has the models look at a still. Human keeps what a call sets, so each
// call sets all that either changes.
// LOOK, the camera loop's still: BlazeFace finds every face afresh, FaceMesh places each, the
// anti-spoofing and liveness models score it (the scores that go with the attempt).
export const LOOK = {
  cacheSensitivity: SAME_PICTURE,
  face: {
    detector: { skipFrames: 0, skipTime: 0 },
    antispoof: { enabled: true },
    liveness: { enabled: true },
  },
};
// FOLLOW, a burst's further frame (BURST_GAP_MS after one the models just saw, of a worker the
// loop found holding still), only for its mesh (the chip's alignment): FaceMesh follows the
// face from the last mesh's box, as MediaPipe's own face tracking does, and BlazeFace runs again
// only where the picture changed (SAME_PICTURE), after FOLLOW_MS or when the face was lost. No
// scores: only the first frame's go with the attempt.
export const FOLLOW = {
  cacheSensitivity: SAME_PICTURE,
  face: {
    detector: { skipFrames: BURST_FRAMES - 1, skipTime: FOLLOW_MS },
    antispoof: { enabled: false },
    liveness: { enabled: false },
  },
};
// FOLLOW where the face was lost: BlazeFace afresh, still no scores.
const FOLLOW_AFRESH = { ...FOLLOW, face: { ...FOLLOW.face, detector: LOOK.face.detector } };

// Where the face should be: its width between these shares of the frame's width, its centre
// within CENTRE_SLACK of the frame's centre (in frame widths/heights).
export const MIN_FACE_SHARE = 0.18;
export const MAX_FACE_SHARE = 0.7;
export const CENTRE_SLACK = 0.22;

export const PLACEMENT_HINTS = {
  none: "Look at the camera",
  many: "One person at a time, please",
  closer: "Move a little closer",
  farther: "Move back a little",
  centre: "Centre your face in the picture",
};

// Pure: where the worker stands, from the faces found ([{box: [x, y, w, h]}]) in a frame of
// width × height. "ok" or a key of PLACEMENT_HINTS.
export function placement(faces, width, height) {
  if (!faces || faces.length === 0) return "none";
  if (faces.length > 1) return "many";
  const [x, y, w, h] = faces[0].box;
  const share = w / width;
  if (share < MIN_FACE_SHARE) return "closer";
  if (share > MAX_FACE_SHARE) return "farther";
  const dx = (x + w / 2) / width - 0.5;
  const dy = (y + h / 2) / height - 0.5;
  if (Math.abs(dx) > CENTRE_SLACK || Math.abs(dy) > CENTRE_SLACK) return "centre";
  return "ok";
}

// Pure: the scores sent with an attempt (rounded; null when the model gave none).
export function clientScores(face) {
  const round = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);
  return { face: round(face?.score), real: round(face?.real), live: round(face?.live) };
}

// Pure: how many threads the WebAssembly kernels run on (TensorFlow.js picks half the logical
// cores, one to eight, on a cross-origin isolated page; else one), or null on another backend.
export function wasmThreads(tf) {
  return tf.getBackend() === "wasm" ? tf.getThreadsCount?.() ?? 1 : null;
}

// The models load within this or count as unavailable: a load that never settles (a worker
// that cannot start, say) must not leave the camera screen "loading" for good. Here the load
// takes 1.5-4 s, the first visit's 3 MB download aside.
export const LOAD_DEADLINE_MS = 60_000;

// `promise`, or a rejection naming `what` once `ms` pass first.
export function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// The loaded models, or null. state: "loading" | "ready" | "unavailable" (and why); threads:
// wasmThreads once loaded.
export const status = { state: "idle", backend: null, threads: null, reason: null };
let human = null;
let loading = null;

export function loadLiveness() {
  if (loading) return loading;
  status.state = "loading";
  loading = (async () => {
    const started = performance.now();
    try {
      const { Human } = await import("@vladmandic/human");
      const candidate = new Human({ ...CONFIG, backend: backendFor(webglRenderer()) });
      const start = async () => {
        await candidate.init();
        if (!candidate.tf?.getBackend?.()) throw new Error("no TensorFlow.js backend");
        await candidate.load();
      };
      await within(LOAD_DEADLINE_MS, start(), "loading the face models");
      human = candidate;
      status.state = "ready";
      status.backend = candidate.tf.getBackend();
      status.threads = wasmThreads(candidate.tf);
      performance.measure?.("punchcard:face-models", { start: started, end: performance.now() });
    } catch (error) {
      human = null;
      status.state = "unavailable";
      status.reason = String(error?.message || error).slice(0, 200);
    }
    return human;
  })();
  return loading;
}

// What Human finds in `still` looked at as `how` (LOOK or FOLLOW): its faces, or null where the
// models are not available. Each call is timed with the User Timing API (`mark`:
// "punchcard:face-detect" for LOOK, "punchcard:face-follow" for FOLLOW; the models' load:
// "punchcard:face-models"), readable in the browser's performance panel and by
// bench/kiosk_liveness.py.
async function look(still, how, mark) {
  if (!human) return null;
  try {
    const started = performance.now();
    const result = await human.detect(still, how);
    performance.measure?.(mark, { start: started, end: performance.now() });
    return result.face || [];
  } catch (error) {
    human = null;
    status.state = "unavailable";
    status.reason = String(error?.message || error).slice(0, 200);
    return null;
  }
}

// The faces in a still of the camera loop, with their scores (LOOK).
export function detectFaces(still) {
  return look(still, LOOK, "punchcard:face-detect");
}

// The face in a burst's further frame, for its mesh (FOLLOW); where it was lost (the worker
// moved more than FaceMesh follows, someone stepped in), BlazeFace looks afresh.
export async function followFace(still) {
  const faces = await look(still, FOLLOW, "punchcard:face-follow");
  if (faces === null || faces.length === 1) return faces;
  return look(still, FOLLOW_AFRESH, "punchcard:face-follow");
}
