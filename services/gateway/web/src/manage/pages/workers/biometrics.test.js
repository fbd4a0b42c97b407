// The "Hardware clock biometrics" block's rules.
import { describe, expect, it } from "vitest";
import { biometricsClockState, biometricsSummary, hasBiometrics } from "./biometrics.js";

const none = { fingerprints: 0, faces: 0, palms: 0, photos: 0, updated_at: null, clocks: [] };

describe("hardware clock biometrics", () => {
  it("counts what is stored, and says when nothing is", () => {
    expect(biometricsSummary({ ...none, fingerprints: 2, faces: 1 })).toBe("2 fingerprints, 1 face template");
    expect(biometricsSummary({ ...none, photos: 1 })).toBe("1 enrolment photo");
    expect(biometricsSummary(none)).toBe("None stored");
  });

  it("offers deletion while anything is stored or on its way", () => {
    expect(hasBiometrics(none)).toBe(false);
    expect(hasBiometrics({ ...none, palms: 1 })).toBe(true);
    expect(hasBiometrics({ ...none, clocks: [{ state: "waiting" }] })).toBe(true);
    expect(hasBiometrics(null)).toBe(false);
  });

  it("names each clock's deletion or copy state", () => {
    const del = { kind: "DELETE_TEMPLATES", result_code: null };
    expect(biometricsClockState({ ...del, state: "acknowledged", result_code: 0 })).toEqual(["ok", "Deleted"]);
    expect(biometricsClockState({ ...del, state: "failed", result_code: -1002 })).toEqual([
      "danger",
      "Deletion failed (-1002: not supported)",
    ]);
    expect(biometricsClockState({ ...del, state: "waiting" })).toEqual(["warn", "Deletion waiting for the clock"]);
    expect(biometricsClockState({ kind: "UPSERT_TEMPLATES", state: "sent" })).toEqual(["info", "Copy sent"]);
    expect(biometricsClockState({ kind: "UPSERT_TEMPLATES", state: "acknowledged", result_code: 0 })).toEqual([
      "ok",
      "Copied",
    ]);
  });
});
