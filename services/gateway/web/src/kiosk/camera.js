// The tablet's front camera: one stream for the app's life (opened on Start, a user gesture),
// small luma samples for the steadiness check (steady.js) and the JPEG frames of an attempt
// (≤ 640 px long side, quality 0.85): a burst of BURST_FRAMES frames BURST_GAP_MS apart, all of
// which must show the same worker and in which the server judges liveness (a still image gives
// identical frames). The edge takes at most 512 KiB for the frames together.
//
// Where the browser's face models found one face with its mesh in every frame of the burst,
// each frame goes as an aligned face chip instead (align.js: CHIP_SIDE px square in dlib's
// face-chip geometry, issue 19): tens of kB a frame, and face-match need not look for the face
// again. A
// burst is all chips or all full frames, never a mix.
//
// The frames are drawn as the camera gives them, never mirrored (only the preview is, by CSS),
// so the person's left eye is on the image's right, as dlib and FaceMesh both expect.

import { chipFit, MAX_FIT_RMS } from "./align.js";
import { luma } from "./steady.js";

export const SAMPLE_W = 32;
export const SAMPLE_H = 24;
export const MAX_SIDE = 640;
export const MAX_FRAME_BYTES = 512 * 1024;
export const BURST_FRAMES = 3;
export const BURST_GAP_MS = 150;
// How long a burst waits for the camera's next frame before it takes the one shown anyway.
export const FRESH_FRAME_MS = 500;

let stream = null;

export async function openCamera() {
  if (stream && stream.active) return stream;
  if (!navigator.mediaDevices?.getUserMedia) {
    throw Object.assign(new Error("no camera API"), { name: "NotSupportedError" });
  }
  stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  return stream;
}

export function closeCamera() {
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
}

// What the screen says when there is no camera to use.
export function cameraProblem(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was refused — use your PIN";
    case "NotFoundError":
    case "OverconstrainedError":
    case "NotSupportedError":
      return "No camera found — use your PIN";
    case "NotReadableError":
      return "The camera is in use or not working — use your PIN";
    default:
      return "The camera is not available — use your PIN";
  }
}

export function ready(video) {
  return video && video.readyState >= 2 && video.videoWidth > 0;
}

export function sample(video, canvas) {
  canvas.width = SAMPLE_W;
  canvas.height = SAMPLE_H;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, SAMPLE_W, SAMPLE_H);
  return luma(ctx.getImageData(0, 0, SAMPLE_W, SAMPLE_H).data);
}

/**
 * The side of the aligned chips sent, in pixels: 300, twice dlib's 150. face-match takes
 * 150–320 px chips (it runs its check at 150 px and embeds at the model's size), but judges a
 * screen held up to the camera on the chip as sent, and a 150 px chip has resampled away much of
 * a screen's pixel grid: of 49 synthetic screen re-captures it caught 38 in 150 px chips, 47 in
 * 300 px chips and 45 in 640 px frames (docs/face-match.md, "Aligned crops from the kiosk").
 */
export const CHIP_SIDE = 300;
/** JPEG quality of an aligned chip: small anyway, and face-match embeds from it. */
export const CHIP_QUALITY = 0.92;

const sizeOf = (source) => [source.videoWidth ?? source.width, source.videoHeight ?? source.height];

// base64 of a JPEG of the current frame (no "data:" prefix) of a <video>, or of a still of one
// (a canvas), at most MAX_SIDE px long.
export function captureJpeg(source, canvas = document.createElement("canvas")) {
  const [width, height] = sizeOf(source);
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.5]) {
    const data = canvas.toDataURL("image/jpeg", quality).split(",")[1] || "";
    if ((data.length * 3) / 4 <= MAX_FRAME_BYTES) return data;
  }
  return null;
}

/** A still of the video's current frame at the video's own size (the mesh's pixels). */
export function snapshot(video, canvas = document.createElement("canvas")) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return canvas;
}

/**
 * base64 JPEG of the `side` × `side` aligned chip of `source` (a still, in the mesh's pixels)
 * drawn through `transform` (align.js's chipFit for that side). What falls outside the frame
 * is black, as in dlib's get_face_chip.
 */
export function chipJpeg(source, transform, canvas = document.createElement("canvas"), side = CHIP_SIDE) {
  canvas.width = side; // resets the context, its transform included
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, side, side);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.setTransform(...transform);
  ctx.drawImage(source, 0, 0);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return canvas.toDataURL("image/jpeg", CHIP_QUALITY).split(",")[1] || null;
}

/**
 * The chip transform of a frame's detection (Human's faces), or null unless it found exactly
 * one face with a usable mesh. Each fit is marked with the User Timing API
 * ("punchcard:face-chip", detail {rms}: how far the five points lay from the template after the
 * best similarity, in pixels of a 150 px chip), read by the browser tests.
 */
export function alignmentOf(faces, side = CHIP_SIDE) {
  if (!Array.isArray(faces) || faces.length !== 1) return null;
  const fit = chipFit(faces[0]?.mesh, side);
  if (!fit) return null;
  globalThis.performance?.mark?.("punchcard:face-chip", { detail: { rms: fit.rms } });
  return fit.rms <= MAX_FIT_RMS ? fit.transform : null;
}

/** Pure: whether a burst goes as aligned chips: every frame taken can be aligned (never a mix). */
export function allAligned(transforms) {
  return transforms.length > 0 && transforms.every(Boolean);
}

// The frames (base64) that fit the edge's bound together: the first always (it fits alone),
// then as many of the rest, in order, as stay within maxBytes decoded.
export function fitBurst(frames, maxBytes = MAX_FRAME_BYTES) {
  const kept = [];
  let total = 0;
  for (const frame of frames) {
    if (!frame) continue;
    const bytes = (frame.length * 3) / 4;
    if (total + bytes > maxBytes) break;
    kept.push(frame);
    total += bytes;
  }
  return kept;
}

/**
 * Resolves when `video` has presented a frame after this call (requestVideoFrameCallback), or
 * after `timeoutMs`; at once where the browser lacks that API. Called right after a frame is
 * taken, it lets the burst's next frame be another camera frame: on a busy tablet the camera's
 * frames come late, and one frame read twice is what the server's liveness check takes for a
 * still image (face-match's "still" sign: a worker refused SPOOF_SUSPECTED).
 */
export function freshFrame(video, timeoutMs = FRESH_FRAME_MS) {
  if (typeof video?.requestVideoFrameCallback !== "function") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    video.requestVideoFrameCallback(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A burst: {frame, burst, aligned} (base64 JPEGs: the first, then up to BURST_FRAMES - 1 more
 * taken BURST_GAP_MS apart at least, each a frame the camera presented after the one before
 * (freshFrame, FRESH_FRAME_MS at most); aligned: all are aligned chips, else all are full frames), or null
 * when not even one frame could be made.
 *
 * `detect(still)` (the face models on one still: Human's faces, or null where they are not
 * available) finds each frame's own mesh; `first` ({still, faces, at}: at, its performance.now()
 * time) is the frame the camera loop has just detected on, reused as the burst's first frame. Each chip is cut with
 * the mesh of its own frame, not the latest detection's: the worker moves a little between
 * frames (which the server's liveness check wants to see), and a mesh from 150 ms before puts
 * the chip's eyes off by that movement. It costs one detection per further frame, which runs
 * within the gap where detection is quicker than BURST_GAP_MS (WebAssembly on this 2-core
 * machine: ~120 ms a frame, docs/kiosk-app.md; a GPU: tens of ms) and stretches the gap to
 * the detection's time where it is slower. Once a frame cannot be aligned, the rest are not
 * detected on: the burst goes as full frames anyway.
 */
export async function captureBurst(
  video,
  { frames = BURST_FRAMES, gapMs = BURST_GAP_MS, first = null, detect = null, freshMs = FRESH_FRAME_MS } = {},
) {
  const shots = [];
  let aligning = Boolean(detect);
  const take = async (still, faces) => {
    const transform = aligning ? alignmentOf(faces === undefined ? await detect(still) : faces) : null;
    aligning = aligning && Boolean(transform);
    shots.push({ still, transform });
  };
  let takenAt = first?.at ?? performance.now();
  // The camera's next frame after the one last taken (the loop's own for `first`).
  let fresh = freshFrame(video, freshMs);
  if (first?.still) await take(first.still, first.faces ?? null);
  else await take(snapshot(video));
  for (let i = 1; i < frames; i++) {
    const wait = gapMs - (performance.now() - takenAt);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await fresh;
    if (!ready(video)) break;
    takenAt = performance.now();
    const still = snapshot(video);
    fresh = freshFrame(video, freshMs);
    await take(still);
  }
  const aligned = allAligned(shots.map((s) => s.transform));
  const canvas = document.createElement("canvas");
  const taken = shots.map((s) => (aligned ? chipJpeg(s.still, s.transform, canvas) : captureJpeg(s.still, canvas)));
  if (!taken[0]) return null;
  const [frame, ...burst] = fitBurst(taken);
  return frame ? { frame, burst, aligned } : null;
}

/**
 * base64 JPEG of the stream's current frame without a <video> on screen (a PIN or card punch's
 * evidence photo, issue 17): a hidden video element on the app's one stream; null when no frame
 * comes within `waitMs` (never holds up the punch for long).
 */
export async function captureStill(stream, { waitMs = 800 } = {}) {
  if (!stream || !stream.active) return null;
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  try {
    const playing = video.play().catch(() => {});
    const deadline = Date.now() + waitMs;
    await playing;
    while (!ready(video) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    return ready(video) ? captureJpeg(video) : null;
  } catch {
    return null;
  } finally {
    video.pause();
    video.srcObject = null;
  }
}
