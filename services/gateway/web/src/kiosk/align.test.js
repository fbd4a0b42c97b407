import { describe, expect, it } from "vitest";
import { CHIP_SIZE, chipFit, chipTransform, MESH_POINTS, meshPoints, similarity, TEMPLATE } from "./align.js";

// Points moved by a similarity: rotated by `angle`, scaled by `scale`, then shifted by (dx, dy).
const moved = (points, { angle, scale, dx, dy }) =>
  points.map(([x, y]) => [
    scale * (Math.cos(angle) * x - Math.sin(angle) * y) + dx,
    scale * (Math.sin(angle) * x + Math.cos(angle) * y) + dy,
  ]);

// A 468-point mesh ([x, y, z]) with the five points at `five` and everything else elsewhere.
const meshWith = (five) => {
  const mesh = Array.from({ length: 468 }, (_, i) => [1000 + i, 2000 - i, 0.5]);
  MESH_POINTS.forEach((index, k) => {
    mesh[index] = [five[k][0], five[k][1], -3];
  });
  return mesh;
};

// Where the canvas transform [a, b, c, d, e, f] draws the frame's point (x, y).
const apply = ([a, b, c, d, e, f], [x, y]) => [a * x + c * y + e, b * x + d * y + f];

describe("the least-squares similarity to the template", () => {
  it("recovers a known rotation, scale and translation exactly", () => {
    // A face in a 1280 × 720 frame: the template turned 17°, 3.2× as large, moved.
    const frame = moved(TEMPLATE, { angle: (17 * Math.PI) / 180, scale: 3.2, dx: 412.5, dy: 96.25 });
    const t = similarity(frame, TEMPLATE);
    expect(t.rms).toBeLessThan(1e-9);
    expect(Math.hypot(t.a, t.b)).toBeCloseTo(1 / 3.2, 12);
    expect(Math.atan2(t.b, t.a)).toBeCloseTo((-17 * Math.PI) / 180, 12);
    frame.forEach((p, i) => {
      const [x, y] = apply(chipTransform(meshWith(frame)), p);
      expect(x).toBeCloseTo(TEMPLATE[i][0], 9);
      expect(y).toBeCloseTo(TEMPLATE[i][1], 9);
    });
  });

  it("recovers a half turn (a face upside down) too", () => {
    const frame = moved(TEMPLATE, { angle: Math.PI, scale: 0.5, dx: 300, dy: 200 });
    const m = chipTransform(meshWith(frame));
    frame.forEach((p, i) => {
      expect(apply(m, p)[0]).toBeCloseTo(TEMPLATE[i][0], 9);
      expect(apply(m, p)[1]).toBeCloseTo(TEMPLATE[i][1], 9);
    });
  });

  it("is the best fit when the points are off the template a little", () => {
    const noisy = TEMPLATE.map(([x, y], i) => [2 * x + 40 + (i % 2 ? 1.5 : -1.5), 2 * y + 10 + (i === 4 ? 2 : -0.5)]);
    const t = similarity(noisy, TEMPLATE);
    expect(t.rms).toBeGreaterThan(0);
    expect(t.rms).toBeLessThan(2);
    // Any nearby rotation/scale/translation fits worse.
    const cost = ({ a, b, tx, ty }) =>
      noisy.reduce((s, [x, y], i) => s + (a * x - b * y + tx - TEMPLATE[i][0]) ** 2 + (b * x + a * y + ty - TEMPLATE[i][1]) ** 2, 0);
    for (const [da, db, dx, dy] of [[1e-3, 0, 0, 0], [0, 1e-3, 0, 0], [0, 0, 0.1, 0], [0, 0, 0, -0.1], [-1e-3, 0, 0, 0]]) {
      expect(cost({ a: t.a + da, b: t.b + db, tx: t.tx + dx, ty: t.ty + dy })).toBeGreaterThan(cost(t));
    }
  });

  it("never reflects: a mirrored face is not made to fit", () => {
    // The template mirrored left to right (a frame flipped like the preview): the eyes swap sides.
    const mirrored = TEMPLATE.map(([x, y]) => [CHIP_SIZE - x, y]);
    const t = similarity(mirrored, TEMPLATE);
    // The matrix [[a, −b], [b, a]] has determinant a² + b² > 0: a rotation and scale only.
    expect(t.a * t.a + t.b * t.b).toBeGreaterThan(0);
    expect(t.rms).toBeGreaterThan(20);
    // …so there is no chip to draw: the frame goes whole.
    expect(chipFit(meshWith(mirrored)).rms).toBeGreaterThan(20);
    expect(chipTransform(meshWith(mirrored))).toBeNull();
    // While the same points not mirrored align.
    expect(chipTransform(meshWith(TEMPLATE))).not.toBeNull();
  });

  it("gives null for degenerate input", () => {
    expect(similarity([], [])).toBeNull();
    expect(similarity([[1, 2]], [[3, 4]])).toBeNull();
    expect(similarity(TEMPLATE, TEMPLATE.slice(0, 4))).toBeNull();
    expect(similarity(TEMPLATE.map(() => [320, 240]), TEMPLATE)).toBeNull();
    expect(similarity(TEMPLATE.map(() => [0, 0]), TEMPLATE)).toBeNull();
    expect(similarity([[1, 2], [3, NaN], [4, 5]], TEMPLATE.slice(0, 3))).toBeNull();
    expect(chipTransform(null)).toBeNull();
    expect(chipTransform([])).toBeNull();
    // Human's mesh without the FaceMesh model: BlazeFace's six landmarks only.
    expect(chipTransform([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]])).toBeNull();
    const missing = meshWith(TEMPLATE);
    missing[133] = undefined;
    expect(meshPoints(missing)).toBeNull();
    expect(chipTransform(missing)).toBeNull();
    expect(chipTransform(meshWith(TEMPLATE.map(() => [320, 240])))).toBeNull();
  });

  it("scales the template with the chip's side, the fit measured in 150 px pixels", () => {
    const frame = moved(TEMPLATE, { angle: 0.2, scale: 2.5, dx: 300, dy: 150 });
    const fit150 = chipFit(meshWith(frame));
    const fit300 = chipFit(meshWith(frame), 300);
    frame.forEach((p, i) => {
      expect(apply(fit300.transform, p)[0]).toBeCloseTo(2 * TEMPLATE[i][0], 9);
      expect(apply(fit300.transform, p)[1]).toBeCloseTo(2 * TEMPLATE[i][1], 9);
    });
    const mirrored = meshWith(TEMPLATE.map(([x, y]) => [CHIP_SIZE - x, y]));
    expect(chipFit(mirrored, 300).rms).toBeCloseTo(chipFit(mirrored).rms, 9);
    expect(chipTransform(mirrored, { side: 300 })).toBeNull();
    expect(fit150.rms).toBeLessThan(1e-9);
    expect(chipFit(meshWith(frame), 0)).toBeNull();
  });

  it("reads the five points by FaceMesh index, x and y only", () => {
    expect(meshPoints(meshWith(TEMPLATE))).toEqual(TEMPLATE);
  });
});
