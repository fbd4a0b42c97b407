// A punch's result (recorded, refused, pending, saved offline): its title and line, "Try again"
// after a wrong PIN, and "Done"; back to the camera by itself after a few seconds.

import { useEffect, useRef } from "preact/hooks";
import { resultMs } from "./face-gate.js";

const RETRY_MS = 8000;
const ICONS = { ok: "✓", bad: "✕", wait: "…", saved: "↻" };

export function Result({ result, onDone, onRetry }) {
  const done = useRef(null);
  useEffect(() => {
    done.current?.focus();
    const timer = setTimeout(onDone, onRetry ? RETRY_MS : resultMs(result));
    return () => clearTimeout(timer);
  }, [result]);
  const icon = ICONS[result.tone] || "";
  return (
    <section class={`result ${result.tone}`} aria-labelledby="result-title">
      <div class="result-icon" aria-hidden="true">
        {icon}
      </div>
      <h1 id="result-title" class="result-title">
        {result.title}
      </h1>
      {result.line && (
        <p class={`result-line ${(result.direction || "").toLowerCase()}`}>{result.line}</p>
      )}
      <div class="actions">
        {onRetry && (
          <button type="button" class="primary big" onClick={onRetry}>
            Try again
          </button>
        )}
        <button ref={done} type="button" class="secondary big" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}
