// A punch's cells in the Punches table: its method (with the face score, or a hardware clock's
// raw VerifyMode and State), its marks (voided,
// offline, needs review, correction with its reason) and its direction.
import { inZone } from "../../../shared/format.js";
import { Badge } from "../../ui.jsx";
import { EvidencePhoto } from "../common.jsx";

const METHOD = { FACE: "Face", PIN: "PIN", FINGERPRINT: "Fingerprint", CARD: "Card", MANUAL: "Manual" };
const TONE = { FACE: "info", PIN: "neutral", FINGERPRINT: "info", CARD: "neutral" };

export function Method({ punch, photos = false }) {
  const f = punch.face;
  // A kiosk app's punch may have an evidence photo (issue 17): for the roles that see them.
  const kiosk = punch.attempt_id && punch.device_verify_mode == null && punch.kind !== "CORRECTION";
  return (
    <div>
      <Badge tone={TONE[punch.method] || "warn"}>{METHOD[punch.method] || punch.method}</Badge>
      {punch.device_verify_mode != null && (
        <div class="muted small">
          hardware clock (VerifyMode {punch.device_verify_mode}, State {punch.device_state ?? "—"})
        </div>
      )}
      {f && (
        <div class="score small">
          distance {f.distance.toFixed(3)}
          {f.threshold != null && <> of {f.threshold.toFixed(3)}</>}
          {f.margin != null && <>, margin {f.margin.toFixed(3)}</>}
          {f.one_to_one && <>, 1:1 check</>}
          {f.model && <div class="muted">{f.model}</div>}
        </div>
      )}
      {photos && kiosk && <EvidencePhoto attemptId={punch.attempt_id} name={punch.display_name} />}
    </div>
  );
}

export function Marks({ punch, admins }) {
  const who = (id) => (id && admins[id] ? ` by ${admins[id]}` : "");
  return (
    <div class="marks-cell">
      <div class="marks">
        {punch.voided && <Badge tone="danger">Voided</Badge>}
        {punch.captured_offline && <Badge tone="warn">Captured offline</Badge>}
        {punch.needs_review && <Badge tone="danger">Needs review</Badge>}
        {punch.direction_inferred && <Badge tone="neutral">Direction inferred</Badge>}
        {punch.kind === "CORRECTION" && (
          <Badge tone="info">{punch.replaces_punch_id ? "Replacement" : "Added by admin"}</Badge>
        )}
      </div>
      {punch.kind === "CORRECTION" && punch.reason && (
        <div class="small">
          Reason{who(punch.admin_id)}: {punch.reason}
        </div>
      )}
      {punch.voided && (
        <div class="small">
          Voided {inZone(punch.voided_at, punch.time_zone)}
          {punch.void_reason ? `: ${punch.void_reason}` : ""}
        </div>
      )}
      {punch.captured_offline && punch.received_at && (
        <div class="small muted">received {inZone(punch.received_at, punch.time_zone)}</div>
      )}
    </div>
  );
}

export function Direction({ value }) {
  return <Badge tone={value === "IN" ? "ok" : "info"}>{value}</Badge>;
}
