// The kiosk's settings, for the clock's Administrator signed in (elevation.js): the clock,
// its roster and last sync, the connection, saved attempts and the app's version; "Sync
// roster now" (device-sync queues a full resync of this clock) and "Forget this clock on this
// tablet" (after a confirmation). Done, or a minute without a touch, returns to the camera.

import { useEffect, useRef, useState } from "preact/hooks";
import { ELEVATED_IDLE_MS, forgetWarning, settingsRows } from "./elevation.js";

/** Back to the camera after `ms` without a touch or a key on the screen. */
export function useIdle(ms, onIdle) {
  const [activity, setActivity] = useState(0);
  useEffect(() => {
    const timer = setTimeout(onIdle, ms);
    return () => clearTimeout(timer);
  }, [activity]);
  return () => setActivity((n) => n + 1);
}

export function Settings({ elevation, facts, onResync, onForget, onEnrol, onDone }) {
  const heading = useRef(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const touched = useIdle(ELEVATED_IDLE_MS, onDone);

  useEffect(() => heading.current?.focus(), []);

  async function resync() {
    setBusy(true);
    setNotice("Asking for the roster…");
    try {
      setNotice(await onResync());
    } finally {
      setBusy(false);
    }
  }

  return (
    <section
      class="settings-screen"
      aria-labelledby="settings-title"
      onPointerDown={touched}
      onKeyDown={touched}
    >
      <h1 id="settings-title" ref={heading} tabIndex={-1}>
        Kiosk settings
      </h1>
      <p class="for-id">Signed in: {elevation.name} (Administrator)</p>
      <dl class="facts">
        {settingsRows(facts).map(([label, value]) => (
          <div key={label} class="fact">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <p class="settings-notice" role="status" aria-live="polite">
        {notice}
      </p>
      {confirming ? (
        <div class="confirm" role="alertdialog" aria-labelledby="forget-title" aria-describedby="forget-text">
          <h2 id="forget-title">Forget this clock on this tablet?</h2>
          <p id="forget-text">{forgetWarning(facts.saved)}</p>
          <div class="actions">
            <button type="button" class="danger big" onClick={onForget}>
              Forget this clock
            </button>
            <button type="button" class="secondary big" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : (
        <div class="actions settings-actions">
          <button type="button" class="primary big" onClick={resync} disabled={busy || !facts.online}>
            Sync roster now
          </button>
          {onEnrol && (
            <button type="button" class="secondary big" onClick={onEnrol}>
              Enrol a face
            </button>
          )}
          <button type="button" class="secondary big" onClick={() => setConfirming(true)}>
            Forget this clock on this tablet
          </button>
          <button type="button" class="secondary big" onClick={onDone}>
            Done
          </button>
        </div>
      )}
    </section>
  );
}
