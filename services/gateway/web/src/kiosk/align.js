// Aligned face chips (pure): where a face found in the browser (Human's FaceMesh, 468 points in
// frame pixels) is drawn into a square chip in dlib's face-chip geometry
// (dlib.get_face_chip(img, shape, size, padding=0.25); 150 px is dlib's size), so the kiosk can send the chip
// instead of the whole frame and face-match need not look for the face again (issue 19).
// face-match still checks each chip (dlib finds one face in it, its landmarks near TEMPLATE)
// and re-aligns it with its own landmarks: this only has to land the face near the template.

/** The side, in pixels, of the chip TEMPLATE is given for (dlib's size=150). */
export const CHIP_SIZE = 150;

/**
 * Where dlib's 5-point landmarks lie in a 150 px chip with padding 0.25, in dlib's order, as
 * [x, y] chip pixels (image-right/left in the frame as captured, never mirrored):
 * 0 the image-right eye's outer corner (the person's LEFT eye), 1 its inner corner,
 * 2 the image-left eye's outer corner (the person's RIGHT eye), 3 its inner corner,
 * 4 the bottom of the nose, between the nostrils.
 */
export const TEMPLATE = [
  [110.96, 46.35],
  [89.61, 47.9],
  [37.06, 46.37],
  [58.41, 47.91],
  [74.01, 87.78],
];

/**
 * The MediaPipe FaceMesh indices of the same five points, in TEMPLATE's order (Human's
 * meshAnnotations, node_modules/@vladmandic/human/src/face/facemeshcoords.ts: leftEyeLower0
 * begins at 263, the left eye's outer corner, and ends at 362, its inner corner;
 * rightEyeLower0 runs from 33, the right eye's outer corner, to 133, its inner corner;
 * noseBottom is 2). MediaPipe's "left" is the person's left, which is image-right in a
 * frame that is not mirrored: the same convention as dlib's.
 */
export const MESH_POINTS = [263, 362, 33, 133, 2];

/**
 * A mesh whose five points fit the template worse than this (root-mean-square distance in chip
 * pixels after the best similarity) is no face to align — a mirrored frame, a broken mesh —
 * and the frame goes whole instead. A real face fits within a few pixels (MediaPipe's eye
 * corners sit a little off dlib's); face-match allows its own landmarks ~12 px from TEMPLATE.
 */
export const MAX_FIT_RMS = 10;

const finitePoint = (p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]);

/**
 * The least-squares similarity (rotation, uniform scale, translation; never a reflection) that
 * takes the points `from` to the points `to` (both [[x, y], …], same length ≥ 2): {a, b, tx, ty}
 * with x' = a·x − b·y + tx, y' = b·x + a·y + ty (a = s·cos θ, b = s·sin θ), and `rms`, the
 * root-mean-square distance of the mapped `from` to `to`. null when the points are missing,
 * not numbers, or all at one place (no scale or rotation follows from them).
 *
 * In the plane this is Umeyama's solution (dlib's find_similarity_transform) with the points as
 * complex numbers: with both sets centred, minimising Σ|k·f − t|² over complex k gives
 * k = Σ conj(f)·t / Σ|f|², a rotation and scale only — conjugation (a reflection) is never
 * among the candidates.
 */
export function similarity(from, to) {
  if (!Array.isArray(from) || !Array.isArray(to) || from.length !== to.length || from.length < 2) {
    return null;
  }
  if (!from.every(finitePoint) || !to.every(finitePoint)) return null;
  const n = from.length;
  const mean = (pts) => [pts.reduce((s, p) => s + p[0], 0) / n, pts.reduce((s, p) => s + p[1], 0) / n];
  const [fx, fy] = mean(from);
  const [gx, gy] = mean(to);
  let re = 0;
  let im = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const x = from[i][0] - fx;
    const y = from[i][1] - fy;
    const u = to[i][0] - gx;
    const v = to[i][1] - gy;
    // conj(x + iy) · (u + iv)
    re += x * u + y * v;
    im += x * v - y * u;
    norm += x * x + y * y;
  }
  // All `from` points at one place (relative to their spread, so a face a few pixels wide
  // still aligns but identical points never do).
  if (!(norm > 1e-9 * (1 + fx * fx + fy * fy))) return null;
  const a = re / norm;
  const b = im / norm;
  if (!(Math.hypot(a, b) > 0)) return null;
  const tx = gx - (a * fx - b * fy);
  const ty = gy - (b * fx + a * fy);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = from[i];
    sq += (a * x - b * y + tx - to[i][0]) ** 2 + (b * x + a * y + ty - to[i][1]) ** 2;
  }
  return { a, b, tx, ty, rms: Math.sqrt(sq / n) };
}

/** The five points of a mesh ([[x, y, z], …] × 468) in TEMPLATE's order, or null. */
export function meshPoints(mesh) {
  if (!Array.isArray(mesh)) return null;
  const points = MESH_POINTS.map((i) => mesh[i]);
  return points.every(finitePoint) ? points.map(([x, y]) => [x, y]) : null;
}

/**
 * How a mesh's five points fit the template in a chip of `side` pixels (dlib's geometry scales
 * with the side: get_face_chip with size=side puts the landmarks at TEMPLATE × side / 150):
 * {transform, rms}, the canvas transform that draws a frame (in the mesh's pixels) into a
 * side × side canvas with the face on the template ([a, b, c, d, e, f] for
 * ctx.setTransform(a, b, c, d, e, f) followed by ctx.drawImage(frame, 0, 0)), and the fit's
 * RMS distance in pixels of a CHIP_SIZE (150 px) chip, whatever the side; null when the mesh
 * lacks the five points or they are degenerate.
 */
export function chipFit(mesh, side = CHIP_SIZE) {
  const points = meshPoints(mesh);
  const k = side / CHIP_SIZE;
  const t = points && k > 0 && similarity(points, TEMPLATE.map(([x, y]) => [x * k, y * k]));
  if (!t) return null;
  // The canvas's matrix maps (x, y) to (a·x + c·y + e, b·x + d·y + f).
  return { transform: [t.a, t.b, -t.b, t.a, t.tx, t.ty], rms: t.rms / k };
}

/**
 * The canvas transform of chipFit, or null when there is none or the points fit the template
 * worse than `maxRms` (pixels of a 150 px chip: no face to align).
 */
export function chipTransform(mesh, { side = CHIP_SIZE, maxRms = MAX_FIT_RMS } = {}) {
  const fit = chipFit(mesh, side);
  return fit && fit.rms <= maxRms ? fit.transform : null;
}
