// How a kiosk clock's face search runs, as face-match answers GET /api/v1/face/clocks/{id}
// (pure): 1:N at a threshold derived from the number of templates searched, or 1:1 (the
// Employee ID first) when they are too many for the tenant's false-positive target.
// docs/face-match.md, "The 1:N threshold and the 1:1 switch".

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "0.1 %" for 0.001. */
export function percentText(rate) {
  const pct = Number(rate) * 100;
  return `${Number(pct.toPrecision(2))} %`;
}

/** The headline and the explanation of a clock's face search; null before it is known. */
export function faceSearchText(s) {
  if (!s) return null;
  const workers = plural(s.workers, "worker", "workers");
  const templates = plural(s.templates, "face template", "face templates");
  const over = s.searches === "assigned" ? "this clock's assigned workers" : "every enrolled worker of the tenant";
  const target = percentText(s.fpir_target);
  if (s.mode === "1:1") {
    return {
      tone: "warn",
      headline: `This clock verifies faces 1:1: ${workers}`,
      detail:
        `A face search here would cover ${over}: ${workers} (${templates}), more than the ` +
        `${s.max_templates ?? "?"} templates a 1:N search may cover while a stranger is accepted in at most ` +
        `${target} of attempts. Workers enter their Employee ID first, then look at the camera.`,
    };
  }
  return {
    tone: "ok",
    headline: `This clock recognises faces 1:N among ${workers}`,
    detail:
      `A face is searched among ${over}: ${workers} (${templates}), at distance threshold ` +
      `${s.threshold ?? "—"}, so that a stranger is accepted in at most ${target} of attempts. ` +
      (s.max_templates != null ? `Beyond ${s.max_templates} templates this clock switches to 1:1 (Employee ID first).` : ""),
  };
}
