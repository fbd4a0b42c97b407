// The "Hardware clock biometrics" block's words and small rules (pure): what device-sync holds
// for a worker (counts only: templates never reach the portal) and each clock's state.
import { countOf } from "../../../shared/format.js";

/** "2 fingerprints, 1 face" from the counts; "None stored" when there is nothing. */
export function biometricsSummary(b) {
  if (!b) return "";
  const parts = [
    [b.fingerprints, "fingerprint"],
    [b.faces, "face template"],
    [b.palms, "palm template"],
    [b.photos, "enrolment photo"],
  ]
    .filter(([n]) => n > 0)
    .map(([n, one]) => countOf(n, one));
  return parts.length ? parts.join(", ") : "None stored";
}

/** Whether anything is stored or still on its way to (or off) a clock. */
export function hasBiometrics(b) {
  return !!b && (b.fingerprints + b.faces + b.palms + b.photos > 0 || b.clocks.length > 0);
}

const RESULTS = { "-1": "parameter error", "-3": "read/write error", "-1002": "not supported" };

/** A clock's latest template command as [badge tone, text]. */
export function biometricsClockState(clock) {
  const what = clock.kind === "DELETE_TEMPLATES" ? "Deletion" : "Copy";
  if (clock.state === "acknowledged") {
    return ["ok", clock.kind === "DELETE_TEMPLATES" ? "Deleted" : "Copied"];
  }
  if (clock.state === "failed") {
    const why = RESULTS[String(clock.result_code)];
    return ["danger", `${what} failed (${clock.result_code}${why ? `: ${why}` : ""})`];
  }
  if (clock.state === "revoked") return ["neutral", `${what} not delivered (clock revoked)`];
  if (clock.state === "sent") return ["info", `${what} sent`];
  return ["warn", `${what} waiting for the clock`];
}
