import { describe, expect, it } from "vitest";
import { BURST_FRAMES, fitBurst, MAX_FRAME_BYTES } from "./camera.js";

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
