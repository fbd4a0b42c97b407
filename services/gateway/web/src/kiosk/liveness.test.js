import { describe, expect, it } from "vitest";
import { CONFIG, backendFor, clientScores, placement } from "./liveness.js";

const face = (x, y, w, h) => ({ box: [x, y, w, h] });

describe("the models' backend", () => {
  it("the GPU where WebGL has one; WebAssembly for a software renderer or none", () => {
    expect(backendFor("ANGLE (Qualcomm, Adreno (TM) 640, OpenGL ES 3.2)")).toBe("webgl");
    expect(backendFor("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)")).toBe("wasm");
    expect(backendFor("llvmpipe (LLVM 15.0.6, 256 bits)")).toBe("wasm");
    expect(backendFor(null)).toBe("wasm");
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
