// Before the time clock: pairing the tablet with a clock credential, then the Start screen
// (its tap is the user gesture that allows full screen and the camera).

import { useEffect, useRef, useState } from "preact/hooks";
import { createApi, NetworkError, Unauthorized } from "./api.js";

const CREDENTIAL_FORMAT = /^pcc_[A-Za-z0-9_-]+$/;

/** Why a credential could not be checked, in the worker's words. */
export function pairingError(error) {
  if (error instanceof Unauthorized) {
    return "This credential is not valid: it is unknown, was replaced or was revoked.";
  }
  if (error instanceof NetworkError) {
    return "The server cannot be reached. Check the network and try again.";
  }
  return "The credential could not be checked right now. Try again in a moment.";
}

export function Pairing({ notice, onPaired }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(event) {
    event.preventDefault();
    const candidate = value.trim();
    if (!CREDENTIAL_FORMAT.test(candidate)) {
      setError("That is not a clock credential (it starts with pcc_).");
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError("");
    try {
      const who = await createApi(candidate).whoami();
      setValue("");
      await onPaired(candidate, who);
    } catch (e) {
      setError(pairingError(e));
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="center pairing" aria-labelledby="pair-title">
      <h1 id="pair-title">Pair this kiosk</h1>
      <p class="lead">
        Enter the clock credential your administrator registered for this tablet. It is kept on
        this device only.
      </p>
      {notice && (
        <p role="alert" class="alert">
          {notice}
        </p>
      )}
      <form onSubmit={submit} class="pair-form" noValidate>
        <label for="credential">Clock credential</label>
        <input
          id="credential"
          ref={input}
          type="password"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby={error ? "credential-error" : undefined}
          aria-invalid={error ? "true" : undefined}
        />
        {error && (
          <p id="credential-error" role="alert" class="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary big" disabled={busy}>
          {busy ? "Checking…" : "Pair"}
        </button>
      </form>
    </main>
  );
}

export function StartScreen({ clock, onStart }) {
  const button = useRef(null);
  useEffect(() => button.current?.focus(), []);
  return (
    <main class="center" aria-labelledby="start-title">
      <h1 id="start-title">{clock?.name || "Punchcard kiosk"}</h1>
      <p class="lead">This kiosk is paired. Tap Start to open the time clock.</p>
      <button ref={button} type="button" class="primary huge" onClick={onStart}>
        Start
      </button>
    </main>
  );
}
