// What the keypad lets a worker type: the one Employee ID / PIN rule of shared/credentials.js
// (generated from the kit, shared with identity and the edge; per character: shared/keys.js),
// per key and for OK. Pure, so Vitest checks it without a browser.

import { EMPLOYEE_ID_MAX_LENGTH, isEmployeeId, isPinFormat, PIN_MAX_LENGTH } from "../shared/credentials.js";
import { isEmployeeIdChar, isPinChar } from "../shared/keys.js";

export const RULES = {
  employee: { max: EMPLOYEE_ID_MAX_LENGTH, accepts: isEmployeeIdChar, complete: isEmployeeId },
  pin: { max: PIN_MAX_LENGTH, accepts: isPinChar, complete: isPinFormat },
};

export const DIGIT_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
/** Behind "ABC": the letters and the symbols an Employee ID may hold. */
export const LETTER_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").concat(["-", "_"]);

/** Whether `key` (a KeyboardEvent.key or a button's text) types into this entry. */
export function accepts(kind, key) {
  return RULES[kind].accepts(key);
}

/** `value` with `ch` typed: unchanged when the key is refused or the entry is full. */
export function typeInto(kind, value, ch) {
  const rule = RULES[kind];
  return rule.accepts(ch) && value.length < rule.max ? value + ch : value;
}

/** Whether OK may send `value`. */
export function complete(kind, value) {
  return RULES[kind].complete(value);
}
