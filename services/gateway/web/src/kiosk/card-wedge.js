// A badge-card reader that types like a keyboard (a "keyboard wedge", USB or Bluetooth): it
// types the card's number and Enter, one key every few milliseconds. This tells such a burst
// from a person typing on the keyboard (pure, so Vitest checks it without a browser):
// a card is digits only, each key within MAX_GAP_MS of the one before, at least MIN_DIGITS of
// them, ended by Enter within MAX_GAP_MS, and a card number by the one rule
// (shared/credentials.js, generated from the kit: 1–20 digits). A slow key starts a new
// burst; any other key, a held (repeating) key or one with a modifier ends it.

import { CARD_NUMBER_MAX_LENGTH, isCardNumber } from "../shared/credentials.js";

/** Readers type a key every 5–30 ms; the quickest people take 60 ms and more between keys. */
export const MAX_GAP_MS = 50;
/** Fewer digits cannot be told from a quick hand (real cards have 8 to 10). */
export const MIN_DIGITS = 4;

const DIGIT = /^[0-9]$/;

export const wedgeStart = () => ({ digits: "", last: null });

/**
 * One key down: `key` (KeyboardEvent.key), `at` (its timeStamp, ms), `plain` (no modifier,
 * not a repeat). Returns {state, card}: `card` is the number when this key (Enter) ended a
 * reader's burst — the caller then punches with it and swallows the Enter — else null.
 */
export function onKey(state, key, at, plain = true) {
  const quick = state.last !== null && at - state.last <= MAX_GAP_MS;
  if (!plain) return { state: wedgeStart(), card: null };
  if (key === "Enter") {
    const { digits } = state;
    const card = quick && digits.length >= MIN_DIGITS && isCardNumber(digits) ? digits : null;
    return { state: wedgeStart(), card };
  }
  if (DIGIT.test(key)) {
    // Kept one past the longest card number, so that a longer burst is refused, not cut.
    const digits = (quick ? state.digits + key : key).slice(0, CARD_NUMBER_MAX_LENGTH + 1);
    return { state: { digits, last: at }, card: null };
  }
  return { state: wedgeStart(), card: null };
}

/** A detector fed with KeyboardEvents: `feed(event)` → the card number, or null. */
export function cardWedge() {
  let state = wedgeStart();
  return {
    feed(event) {
      const plain = !event.repeat && !event.ctrlKey && !event.altKey && !event.metaKey;
      const next = onKey(state, event.key, event.timeStamp, plain);
      state = next.state;
      return next.card;
    },
    reset() {
      state = wedgeStart();
    },
  };
}
