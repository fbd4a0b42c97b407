// Is the camera's view steady? Each sample is a small downscaled frame (e.g. 32×24) turned into
// luma; two samples differ by their mean absolute difference (0–255). The view is steady once
// the difference stays under a threshold for steadyMs and the frame is not blank (a covered
// lens, a dark room, a plain wall: too little contrast). Pure functions, tested in node.

export function luma(rgba) {
  const out = new Uint8Array(rgba.length / 4);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j++) {
    out[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
  }
  return out;
}

export function meanAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length || a.length === 0) return Infinity;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

// Blank: too dark, or too flat (standard deviation of the luma).
export function isBlank(y, { minMean = 25, minStd = 12 } = {}) {
  if (!y || y.length === 0) return true;
  let sum = 0;
  for (const v of y) sum += v;
  const mean = sum / y.length;
  let sq = 0;
  for (const v of y) sq += (v - mean) ** 2;
  return mean < minMean || Math.sqrt(sq / y.length) < minStd;
}

export class SteadyView {
  constructor({ threshold = 6, steadyMs = 600, changeThreshold = 14 } = {}) {
    this.threshold = threshold;
    this.steadyMs = steadyMs;
    this.changeThreshold = changeThreshold;
    this.previous = null;
    this.since = null;
    this.reference = null; // the view when the last attempt was made
  }

  // Feed a sample (luma) taken at time t (ms); returns {steady, blank, changed}: steady means
  // still for steadyMs and not blank; changed means it differs from the reference.
  feed(y, t) {
    const blank = isBlank(y);
    const moving = meanAbsDiff(this.previous, y) > this.threshold;
    this.previous = y;
    if (moving || blank) this.since = null;
    else if (this.since === null) this.since = t;
    const steady = !blank && this.since !== null && t - this.since >= this.steadyMs;
    const changed = this.reference === null || meanAbsDiff(this.reference, y) > this.changeThreshold;
    return { steady, blank, changed };
  }

  // An attempt was made with this view: the next one waits for a different view.
  remember(y = this.previous) {
    this.reference = y;
  }

  forget() {
    this.reference = null;
  }
}
