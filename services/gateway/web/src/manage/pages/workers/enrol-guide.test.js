// Face enrolment guidance: the next pose, the advice on how many photos, the lookalike override.
import { describe, expect, it } from "vitest";
import { MAX_PHOTOS, POSES, afterFaceDeleted, isConfirmableLookalike, nextPose, photoAdvice, withoutFace } from "./enrol-guide.js";

describe("face enrolment guidance", () => {
  it("prompts a different pose for each photo, and none past the limit", () => {
    const prompts = [0, 1, 2, 3, 4].map(nextPose);
    expect(new Set(prompts).size).toBe(MAX_PHOTOS);
    expect(prompts[0]).toBe(POSES[0]);
    expect(nextPose(MAX_PHOTOS)).toBeNull();
  });

  it("recommends three to five photos without requiring them", () => {
    expect(photoAdvice(0)).toMatch(/3 to 5 photos/);
    expect(photoAdvice(1)).toMatch(/^2 more photos recommended/);
    expect(photoAdvice(2)).toMatch(/^1 more photo recommended/);
    expect(photoAdvice(3)).toMatch(/^Good: 3 photos/);
    expect(photoAdvice(5)).toMatch(/the most/);
  });

  it("offers the lookalike override only where the API says this caller may confirm", () => {
    const refusal = (confirmable) => ({ code: "FACE_ENROLLED_AS_OTHER", body: { confirmable } });
    expect(isConfirmableLookalike(refusal(true))).toBe(true);
    expect(isConfirmableLookalike(refusal(false))).toBe(false);
    expect(isConfirmableLookalike({ code: "PHOTO_REFUSED", body: { confirmable: true } })).toBe(false);
    expect(isConfirmableLookalike(null)).toBe(false);
  });
});

describe("a worker with no face", () => {
  const worker = (pin_set, pin_allowed) => ({ pin_set, pin_allowed });

  it("clocks in with a PIN only when a PIN is set and allowed", () => {
    expect(withoutFace(worker(true, true))).toBe("This worker can clock in with a PIN only.");
    expect(afterFaceDeleted(worker(true, true))).toMatch(/with a PIN until enrolled again/);
  });

  it("is not said to have a PIN when none is set", () => {
    expect(withoutFace(worker(false, true))).toMatch(/^No PIN is set either/);
    expect(afterFaceDeleted(worker(false, true))).toBe("They cannot clock in by face or PIN until enrolled again.");
  });

  it("is not said to have a PIN when PINs are off for them, even with one set", () => {
    expect(withoutFace(worker(true, false))).toMatch(/^PIN use is off for this worker/);
    expect(afterFaceDeleted(worker(true, false))).toBe("They cannot clock in by face or PIN until enrolled again.");
  });
});
