// The tablet's front camera: one stream for the app's life (opened on Start, a user gesture),
// small luma samples for the steadiness check (steady.js) and the JPEG frames of an attempt
// (≤ 640 px long side, quality 0.85): a burst of BURST_FRAMES frames BURST_GAP_MS apart, all of
// which must show the same worker and in which the server judges liveness (a still image gives
// identical frames). The edge takes at most 512 KiB for the frames together.

import { luma } from "./steady.js";

export const SAMPLE_W = 32;
export const SAMPLE_H = 24;
export const MAX_SIDE = 640;
export const MAX_FRAME_BYTES = 512 * 1024;
export const BURST_FRAMES = 3;
export const BURST_GAP_MS = 150;

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

// base64 of a JPEG of the current frame (no "data:" prefix).
export function captureJpeg(video, canvas = document.createElement("canvas")) {
  const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.5]) {
    const data = canvas.toDataURL("image/jpeg", quality).split(",")[1] || "";
    if ((data.length * 3) / 4 <= MAX_FRAME_BYTES) return data;
  }
  return null;
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

// A burst: {frame, burst} (base64 JPEGs: the first, then up to BURST_FRAMES - 1 more taken
// BURST_GAP_MS apart), or null when not even one frame could be made.
export async function captureBurst(video, { frames = BURST_FRAMES, gapMs = BURST_GAP_MS } = {}) {
  const canvas = document.createElement("canvas");
  const taken = [captureJpeg(video, canvas)];
  if (!taken[0]) return null;
  for (let i = 1; i < frames; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (!ready(video)) break;
    taken.push(captureJpeg(video, canvas));
  }
  const [frame, ...burst] = fitBurst(taken);
  return frame ? { frame, burst } : null;
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
