import { describe, expect, it } from "vitest";
import { clockInfo } from "./device.js";

describe("clockInfo", () => {
  it("keeps whether the tenant keeps evidence photos, true only when the edge says so", () => {
    const who = { clock_id: "c", name: "Lobby", time_zone: "UTC", tenant_id: "t" };
    expect(clockInfo({ ...who, evidence_photos: true })).toEqual({
      clock_id: "c",
      name: "Lobby",
      time_zone: "UTC",
      evidence_photos: true,
    });
    expect(clockInfo(who).evidence_photos).toBe(false);
    expect(clockInfo({ ...who, evidence_photos: "yes" }).evidence_photos).toBe(false);
  });
});
