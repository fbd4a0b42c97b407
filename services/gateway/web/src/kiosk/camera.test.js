import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MESH_POINTS, TEMPLATE } from "./align.js";
import {
  alignmentOf,
  allAligned,
  BURST_FRAMES,
  CHIP_QUALITY,
  CHIP_SIDE,
  captureBurst,
  fitBurst,
  freshFrame,
  MAX_FRAME_BYTES,
} from "./camera.js";

const frameOf = (bytes) => "A".repeat((bytes * 4) / 3);

describe("a face attempt's burst", () => {
  it("is a few frames, all sent when they fit the edge's bound together", () => {
    expect(BURST_FRAMES).toBeGreaterThanOrEqual(2);
    const frames = [frameOf(60_000), frameOf(60_000), frameOf(60_000)];
    expect(fitBurst(frames)).toEqual(frames);
  });

  it("drops the frames that would exceed the bound, never the first", () => {
    const big = frameOf(200 * 1024);
    expect(fitBurst([big, big, big])).toHaveLength(2);
    expect(fitBurst([big, big, big], 200 * 1024)).toEqual([big]);
    expect(fitBurst([null, big])).toEqual([big]);
    const total = fitBurst([big, big, big]).reduce((n, f) => n + (f.length * 3) / 4, 0);
    expect(total).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });
});

// A canvas that records what is drawn on it, and "encodes" its size (the test's JPEG).
function fakeCanvas(log) {
  const canvas = {
    width: 300,
    height: 150,
    getContext: () => ({
      fillRect() {},
      setTransform: (...m) => log.push(["setTransform", ...m]),
      drawImage: (source, ...at) => log.push(["drawImage", source.name ?? "?", ...at]),
    }),
    toDataURL: (type, quality) => `data:${type};base64,${canvas.width}x${canvas.height}@${quality}`,
  };
  return canvas;
}

describe("a burst of aligned face chips", () => {
  let log;
  let stills;
  const video = { videoWidth: 1280, videoHeight: 720, readyState: 4, name: "video" };
  // One face whose five FaceMesh points are the template, twice as large, moved.
  const mesh = Array.from({ length: 468 }, () => [0, 0, 0]);
  MESH_POINTS.forEach((index, k) => {
    mesh[index] = [2 * TEMPLATE[k][0] + 400, 2 * TEMPLATE[k][1] + 200, 0];
  });
  const oneFace = [{ box: [400, 200, 300, 300], mesh }];

  beforeEach(() => {
    log = [];
    stills = 0;
    vi.stubGlobal("document", {
      createElement: () => {
        const c = fakeCanvas(log);
        c.name = `canvas${stills++}`;
        return c;
      },
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("sends every frame as a CHIP_SIDE px chip, each cut with its own frame's mesh", async () => {
    const seen = [];
    const detect = async (still) => {
      seen.push(still.name);
      return oneFace;
    };
    const first = { still: Object.assign(fakeCanvas(log), { name: "first", width: 1280, height: 720 }), faces: oneFace };
    const shot = await captureBurst(video, { gapMs: 0, first, detect });
    expect(shot.aligned).toBe(true);
    expect(CHIP_SIDE).toBeGreaterThanOrEqual(150);
    expect(CHIP_SIDE).toBeLessThanOrEqual(320); // what face-match takes
    expect([shot.frame, ...shot.burst]).toEqual(Array(3).fill(`${CHIP_SIDE}x${CHIP_SIDE}@${CHIP_QUALITY}`));
    // The loop's detection serves the first frame; the other two are detected on their stills.
    expect(seen).toHaveLength(BURST_FRAMES - 1);
    expect(seen).not.toContain("first");
    // Drawn through the similarity that puts the face on the template at CHIP_SIDE (the mesh
    // is the 150 px template twice as large, moved by (400, 200)).
    const k = CHIP_SIDE / 150;
    const m = log.find((e) => e[0] === "setTransform" && !(e[1] === 1 && e[5] === 0));
    const round = (v) => Math.round(v * 1000) / 1000 + 0;
    expect(m.slice(1).map(round)).toEqual([k / 2, 0, 0, k / 2, -200 * k, -100 * k].map(round));
    expect(log.filter((e) => e[0] === "drawImage" && e[1] === "first")).toHaveLength(1);
  });

  it("sends full frames when any frame of the burst cannot be aligned: never a mix", async () => {
    let calls = 0;
    const detect = async () => (++calls === 1 ? oneFace : []);
    const shot = await captureBurst(video, { gapMs: 0, detect });
    expect(shot.aligned).toBe(false);
    expect([shot.frame, ...shot.burst]).toEqual(Array(3).fill("640x360@0.85"));
    // Once a frame failed, the rest are not detected on.
    expect(calls).toBe(2);
  });

  it("sends full frames, detecting nothing more, without the models or with two faces", async () => {
    const detect = vi.fn(async () => oneFace);
    const plain = await captureBurst(video, { gapMs: 0 });
    expect(plain.aligned).toBe(false);
    expect(plain.frame).toBe("640x360@0.85");
    const still = Object.assign(fakeCanvas(log), { width: 1280, height: 720 });
    const unavailable = await captureBurst(video, { gapMs: 0, first: { still, faces: null }, detect });
    const two = await captureBurst(video, { gapMs: 0, first: { still, faces: [...oneFace, ...oneFace] }, detect });
    for (const shot of [unavailable, two]) {
      expect(shot.aligned).toBe(false);
      expect(shot.burst).toEqual(["640x360@0.85", "640x360@0.85"]);
    }
    expect(detect).not.toHaveBeenCalled();
  });

  it("aligns only exactly one face with a whole mesh", () => {
    expect(alignmentOf(oneFace)).not.toBeNull();
    expect(alignmentOf([])).toBeNull();
    expect(alignmentOf(null)).toBeNull();
    expect(alignmentOf([...oneFace, ...oneFace])).toBeNull();
    expect(alignmentOf([{ box: [0, 0, 1, 1], mesh: mesh.slice(0, 6) }])).toBeNull();
    expect(allAligned([[1], [2]])).toBe(true);
    expect(allAligned([[1], null])).toBe(false);
    expect(allAligned([])).toBe(false);
  });
});

describe("a burst's frames are the camera's own, one each", () => {
  let drawn;
  beforeEach(() => {
    drawn = [];
    vi.stubGlobal("document", {
      createElement: () => ({
        getContext: () => ({ drawImage: (source) => source.name && drawn.push(source.name), fillRect() {}, setTransform() {} }),
        toDataURL: () => "data:image/jpeg;base64,AAAA",
      }),
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  // A camera that presents a new frame `everyMs` (none when null), through
  // requestVideoFrameCallback; its name is the frame shown.
  function camera(everyMs) {
    let shown = 0;
    const waiting = [];
    const video = {
      videoWidth: 640,
      videoHeight: 480,
      readyState: 4,
      get name() {
        return `frame${shown}`;
      },
      requestVideoFrameCallback: (callback) => waiting.push(callback),
    };
    const timer = everyMs && setInterval(() => {
      shown += 1;
      for (const callback of waiting.splice(0)) callback();
    }, everyMs);
    return { video, stop: () => clearInterval(timer) };
  }

  it("waits for the camera's next frame when it comes later than the gap", async () => {
    const slow = camera(40); // the gap is 0: a burst taken at once would read one frame thrice
    try {
      await captureBurst(slow.video, { gapMs: 0 });
    } finally {
      slow.stop();
    }
    expect(drawn).toHaveLength(3);
    expect(new Set(drawn).size).toBe(3);
  });

  it("takes the frame shown when none comes in time, and never waits without the API", async () => {
    const stuck = camera(null);
    await captureBurst(stuck.video, { gapMs: 0, freshMs: 20 });
    expect(drawn).toEqual(["frame0", "frame0", "frame0"]);
    await expect(freshFrame({})).resolves.toBeUndefined();
  });
});
