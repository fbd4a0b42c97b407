// The on-screen keypad for the Employee ID (digits first; letters behind "ABC", as IDs may hold
// A–Z, a–z, 0–9, ".", "_" and "-") and for the PIN (4–6 digits, shown only as dots). A physical
// keyboard works too. 20 s without input returns to the camera and forgets what was typed.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export const IDLE_MS = 20000;
const ID_MAX = 32;
const PIN_MIN = 4;
const PIN_MAX = 6;
const ID_CHAR = /^[A-Za-z0-9._-]$/;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").concat(["-", ".", "_"]);

export function Keypad({ kind, employeeId, initial = "", onDone, onCancel, onBack }) {
  const pin = kind === "pin";
  const [value, setValue] = useState(pin ? "" : initial);
  const [letters, setLetters] = useState(false);
  const heading = useRef(null);
  const valueRef = useRef(value);
  valueRef.current = value;
  const [activity, setActivity] = useState(0);

  const max = pin ? PIN_MAX : ID_MAX;
  const min = pin ? PIN_MIN : 1;
  const canSubmit = value.length >= min;

  function type(ch) {
    setActivity((n) => n + 1);
    setValue((v) => (v.length < max ? v + ch : v));
  }
  function erase() {
    setActivity((n) => n + 1);
    setValue((v) => v.slice(0, -1));
  }
  function submit() {
    const v = valueRef.current;
    if (v.length < min) return;
    setValue("");
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
      } else if (pin ? /^[0-9]$/.test(event.key) : ID_CHAR.test(event.key)) {
        event.preventDefault();
        type(event.key);
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [pin]);

  const title = pin ? "Enter your PIN" : "Enter your Employee ID";
  const keys = letters && !pin ? LETTERS : ["1", "2", "3", "4", "5", "6", "7", "8", "9"];

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
            {Array.from({ length: Math.max(PIN_MIN, value.length) }, (_, i) => (
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
