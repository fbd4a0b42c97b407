// A kiosk clock's face search in words (face-search.js).
import { describe, expect, it } from "vitest";
import { faceSearchText, percentText } from "./face-search.js";

const base = { clock_id: "c", fpir_target: 0.001, max_templates: 33, searches: "assigned" };

describe("a clock's face search", () => {
  it("says 1:1 and over how many workers when the gallery is too large", () => {
    const t = faceSearchText({ ...base, mode: "1:1", workers: 500, templates: 1500, threshold: null });
    expect(t.headline).toBe("This clock verifies faces 1:1: 500 workers");
    expect(t.tone).toBe("warn");
    expect(t.detail).toContain("1500 face templates");
    expect(t.detail).toContain("33 templates");
    expect(t.detail).toContain("0.1 %");
    expect(t.detail).toContain("Employee ID first");
  });

  it("says 1:N with the threshold otherwise", () => {
    const t = faceSearchText({ ...base, mode: "1:N", workers: 1, templates: 3, threshold: 0.5018, searches: "tenant" });
    expect(t.headline).toBe("This clock recognises faces 1:N among 1 worker");
    expect(t.tone).toBe("ok");
    expect(t.detail).toContain("every enrolled worker of the tenant");
    expect(t.detail).toContain("0.5018");
    expect(t.detail).toContain("Beyond 33 templates");
  });

  it("is nothing before the answer", () => {
    expect(faceSearchText(null)).toBeNull();
  });

  it("writes rates as percentages", () => {
    expect(percentText(0.001)).toBe("0.1 %");
    expect(percentText(0.0002)).toBe("0.02 %");
    expect(percentText(0.01)).toBe("1 %");
  });
});
