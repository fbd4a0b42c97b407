// The on-screen keypad for the Employee ID (digits first; letters behind "ABC", as IDs may hold
// A–Z, a–z, 0–9, "_" and "-") and for the PIN (4–6 digits, shown only as dots). A physical
// keyboard works too. 20 s without input returns to the camera and forgets what was typed.
// What may be typed is the shared credentials rule (entry.js).

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { PIN_MIN_LENGTH } from "../shared/credentials.js";
import { accepts, complete, DIGIT_KEYS, LETTER_KEYS, typeInto } from "./entry.js";

export const IDLE_MS = 20000;

export function Keypad({ kind, employeeId, initial = "", onDone, onCancel, onBack, title: titled }) {
  const pin = kind === "pin";
  const [value, setValue] = useState(pin ? "" : initial);
  const [letters, setLetters] = useState(false);
  const heading = useRef(null);
  const valueRef = useRef(value);
  valueRef.current = value;
  const [activity, setActivity] = useState(0);

  const canSubmit = complete(kind, value);

  // The ref moves with each key at once (not at the next render), so keys that arrive faster
  // than renders (a scanner's burst and its Enter) are all counted, in order.
  function change(next) {
    valueRef.current = next;
    setValue(next);
  }
  function type(ch) {
    setActivity((n) => n + 1);
    change(typeInto(kind, valueRef.current, ch));
  }
  function erase() {
    setActivity((n) => n + 1);
    change(valueRef.current.slice(0, -1));
  }
  function submit() {
    const v = valueRef.current;
    if (!complete(kind, v)) return;
    change("");
    onDone(v);
  }

  useEffect(() => heading.current?.focus(), []);

  // Idle: back to the camera, the digits forgotten.
  useEffect(() => {
    const timer = setTimeout(() => {
      setValue("");
      onCancel();
    }, IDLE_MS);
    return () => clearTimeout(timer);
  }, [activity]);

  // Clear what was typed when the screen goes away.
  useEffect(() => () => setValue(""), []);

  // Listening from the first paint on: keys typed at once are not lost.
  useLayoutEffect(() => {
    function onKey(event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const onButton = event.target?.tagName === "BUTTON";
      if (event.key === "Enter") {
        if (onButton) return; // the focused button acts
        event.preventDefault();
        submit();
      } else if (event.key === "Backspace") {
        event.preventDefault();
        erase();
      } else if (event.key === "Escape") {
        event.preventDefault();
        onCancel();
      } else if (accepts(kind, event.key)) {
        event.preventDefault();
        type(event.key);
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [pin]);

  const title = titled || (pin ? "Enter your PIN" : "Enter your Employee ID");
  const keys = letters && !pin ? LETTER_KEYS : DIGIT_KEYS;

  return (
    <section class="keypad-screen" aria-labelledby="keypad-title">
      <div class="keypad-side">
        <h1 id="keypad-title" ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {pin && <p class="for-id">Employee ID {employeeId}</p>}
        {pin ? (
          <div
            class="dots"
            role="img"
            aria-label={`PIN: ${value.length} ${value.length === 1 ? "digit" : "digits"} entered`}
            aria-live="polite"
          >
            {Array.from({ length: Math.max(PIN_MIN_LENGTH, value.length) }, (_, i) => (
              <span key={i} class={i < value.length ? "dot on" : "dot"} />
            ))}
          </div>
        ) : (
          <output class="entry" aria-label="Employee ID" aria-live="polite">
            {value || <span class="placeholder">—</span>}
          </output>
        )}
        <div class="side-actions">
          {pin && onBack && (
            <button type="button" class="secondary big" onClick={onBack}>
              Back
            </button>
          )}
          <button type="button" class="secondary big" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
      <div class={`keys ${letters && !pin ? "letters" : ""}`} role="group" aria-label="Keypad">
        {keys.map((k) => (
          <button key={k} type="button" class="key" onClick={() => type(k)}>
            {k}
          </button>
        ))}
        <button type="button" class="key erase" onClick={erase} aria-label="Delete">
          ⌫
        </button>
        {!letters || pin ? (
          <button type="button" class="key" onClick={() => type("0")}>
            0
          </button>
        ) : null}
        <button type="button" class="key ok" onClick={submit} disabled={!canSubmit}>
          OK
        </button>
        {!pin && (
          <button
            type="button"
            class="key toggle"
            onClick={() => setLetters((l) => !l)}
            aria-label={letters ? "Show digits" : "Show letters"}
          >
            {letters ? "123" : "ABC"}
          </button>
        )}
      </div>
    </section>
  );
}
