import { beforeEach, describe, expect, it, vi } from "vitest";
import { BURST_FRAMES } from "./camera.js";
import {
  CONFIG,
  FOLLOW,
  FOLLOW_MS,
  LOOK,
  backendFor,
  clientScores,
  detectFaces,
  followFace,
  loadLiveness,
  placement,
  status,
  wasmThreads,
  within,
} from "./liveness.js";

const face = (x, y, w, h) => ({ box: [x, y, w, h] });

describe("the models' backend", () => {
  it("the GPU where WebGL has one; WebAssembly for a software renderer or none", () => {
    expect(backendFor("ANGLE (Qualcomm, Adreno (TM) 640, OpenGL ES 3.2)")).toBe("webgl");
    expect(backendFor("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)")).toBe("wasm");
    expect(backendFor("llvmpipe (LLVM 15.0.6, 256 bits)")).toBe("wasm");
    expect(backendFor(null)).toBe("wasm");
  });

  it("reports the WebAssembly kernels' threads, and none on the GPU", () => {
    expect(wasmThreads({ getBackend: () => "wasm", getThreadsCount: () => 2 })).toBe(2);
    expect(wasmThreads({ getBackend: () => "wasm" })).toBe(1);
    expect(wasmThreads({ getBackend: () => "webgl", getThreadsCount: () => { throw new Error("WASM backend not initialized."); } })).toBe(null);
  });
});

describe("a load that never settles", () => {
  it("is given up after the deadline, and a prompt one is left alone", async () => {
    vi.useFakeTimers();
    try {
      const never = within(60_000, new Promise(() => {}), "loading the face models");
      const settled = expect(never).rejects.toThrow("loading the face models took over 60 s");
      await vi.advanceTimersByTimeAsync(60_000);
      await settled;
      await expect(within(60_000, Promise.resolve("ready"), "x")).resolves.toBe("ready");
      await expect(within(60_000, Promise.reject(new Error("no WebGL")), "x")).rejects.toThrow("no WebGL");
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("where the worker stands (in-browser models)", () => {
  it("one face, big enough and centred, is ready to send", () => {
    expect(placement([face(220, 120, 200, 240)], 640, 480)).toBe("ok");
  });

  it("says what to change", () => {
    expect(placement([], 640, 480)).toBe("none");
    expect(placement([face(0, 0, 100, 100), face(300, 0, 100, 100)], 640, 480)).toBe("many");
    expect(placement([face(300, 200, 60, 70)], 640, 480)).toBe("closer");
    expect(placement([face(50, 0, 560, 480)], 640, 480)).toBe("farther");
    expect(placement([face(0, 120, 200, 240)], 640, 480)).toBe("centre");
  });

  it("sends rounded scores, null where the model gave none", () => {
    expect(clientScores({ score: 0.98765, real: 0.5, live: undefined })).toEqual({
      face: 0.988,
      real: 0.5,
      live: null,
    });
  });

  it("loads the models from this origin's assets only", () => {
    expect(CONFIG.modelBasePath.startsWith("/assets/")).toBe(true);
    for (const model of [CONFIG.face.detector, CONFIG.face.mesh, CONFIG.face.antispoof, CONFIG.face.liveness]) {
      expect(model.modelPath).not.toMatch(/^https?:/);
    }
  });
});

describe("how the models look at a still", () => {
  const keys = (o, prefix = "") =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
  const at = (o, path) => path.split(".").reduce((v, k) => v?.[k], o);

  it("the camera loop's look finds faces afresh and scores them, as the models start", () => {
    expect(LOOK.face.detector).toEqual({ skipFrames: 0, skipTime: 0 });
    expect(LOOK.face.antispoof.enabled).toBe(true);
    expect(LOOK.face.liveness.enabled).toBe(true);
    // Human starts on CONFIG: its first call is a look whatever it is given.
    for (const path of keys(LOOK)) expect(at(CONFIG, path)).toEqual(at(LOOK, path));
    // No model's result is reused across looks.
    for (const model of [CONFIG.face.detector, CONFIG.face.antispoof, CONFIG.face.liveness]) {
      expect(model.skipFrames).toBe(0);
    }
  });

  it("a burst's further frame follows the face for its mesh, without scores", () => {
    expect(FOLLOW.face.antispoof.enabled).toBe(false);
    expect(FOLLOW.face.liveness.enabled).toBe(false);
    expect(FOLLOW.face.detector.skipFrames).toBe(BURST_FRAMES - 1);
    expect(FOLLOW.face.detector.skipTime).toBe(FOLLOW_MS);
    expect(FOLLOW.cacheSensitivity).toBeGreaterThan(0);
  });

  it("a look undoes every setting a follow changed (Human keeps what a call sets)", () => {
    expect(keys(LOOK).sort()).toEqual(keys(FOLLOW).sort());
  });
});

// A stand-in for Human: records how it was asked to look, answers the faces queued.
const human = vi.hoisted(() => ({ calls: [], answers: [] }));
vi.mock("@vladmandic/human", () => ({
  Human: class {
    constructor() {
      this.tf = { getBackend: () => "wasm", getThreadsCount: () => 1 };
    }
    async init() {}
    async load() {}
    async detect(still, how) {
      human.calls.push(how);
      return { face: human.answers.shift() ?? [] };
    }
  },
}));

describe("following a face through a burst", () => {
  beforeEach(async () => {
    human.calls.length = 0;
    await loadLiveness();
    expect(status.reason).toBe(null);
    expect(status).toMatchObject({ state: "ready", backend: "wasm", threads: 1 });
  });

  it("scores only the loop's look, and follows the burst's frames", async () => {
    human.answers = [[{ score: 1 }], [{ score: 1 }]];
    expect(await detectFaces("still")).toHaveLength(1);
    expect(await followFace("next")).toHaveLength(1);
    expect(human.calls).toEqual([LOOK, FOLLOW]);
  });

  it("looks afresh, still without scores, where the face was lost", async () => {
    human.answers = [[], [{ score: 1 }]];
    expect(await followFace("next")).toHaveLength(1);
    expect(human.calls[0]).toBe(FOLLOW);
    expect(human.calls[1].face.detector).toEqual(LOOK.face.detector);
    expect(human.calls[1].face.antispoof.enabled).toBe(false);
    expect(human.calls[1].face.liveness.enabled).toBe(false);
  });
});
