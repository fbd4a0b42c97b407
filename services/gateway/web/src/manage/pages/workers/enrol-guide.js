// Face enrolment guidance (pure): which photo to take next, and what to say about how many.
// Several photos with varied pose and light make the worker's templates hold across the
// kiosk's angles and lighting (docs/face-match.md); face-match accepts 1 to 5.

export const MAX_PHOTOS = 5;
export const RECOMMENDED_PHOTOS = 3;

export const POSES = [
  "Look straight at the camera.",
  "Turn your head a little to the left.",
  "Turn your head a little to the right.",
  "Tilt your chin a little down (with glasses, if you wear them at work).",
  "Step into other light: near a window, or under the ceiling light.",
];

/** The prompt for the next photo, when `count` are taken (null: no more may be added). */
export function nextPose(count) {
  return count < MAX_PHOTOS ? POSES[count] : null;
}

/** What the page says under the photos. */
export function photoAdvice(count) {
  if (count === 0) {
    return `Take ${RECOMMENDED_PHOTOS} to ${MAX_PHOTOS} photos of the worker alone, varying pose and light: the clock then recognises them from more angles.`;
  }
  if (count < RECOMMENDED_PHOTOS) {
    const more = RECOMMENDED_PHOTOS - count;
    return `${more} more photo${more === 1 ? "" : "s"} recommended (pose and light varied). You may enrol with fewer.`;
  }
  if (count < MAX_PHOTOS) return `Good: ${count} photos. Up to ${MAX_PHOTOS} may be enrolled.`;
  return `${MAX_PHOTOS} photos: the most that may be enrolled.`;
}

/** What the Face section says of a worker with no face enrolled: how they clock in instead,
 * from their PIN state (identity's `pin_set`, `pin_allowed`). */
export function withoutFace(worker) {
  if (!worker.pin_allowed) {
    return "PIN use is off for this worker: they cannot clock in by face or PIN until their face is enrolled.";
  }
  if (!worker.pin_set) return "No PIN is set either: set one on the Edit page, or enrol their face, so that they can clock in.";
  return "This worker can clock in with a PIN only.";
}

/** What deleting a worker's face data leaves them to clock in with. */
export function afterFaceDeleted(worker) {
  return worker.pin_allowed && worker.pin_set
    ? "They can clock in with a PIN until enrolled again."
    : "They cannot clock in by face or PIN until enrolled again.";
}

/** A refusal that a sysadmin may override because the workers are twins or lookalikes. */
export function isConfirmableLookalike(error) {
  return error?.code === "FACE_ENROLLED_AS_OTHER" && error?.body?.confirmable === true;
}
