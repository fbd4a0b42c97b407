// Character by character, the one Employee ID / PIN rule of credentials.js (generated: do not
// add to it by hand): what a keypad or a PIN field lets through as it is typed.

import { EMPLOYEE_ID_CHAR_PATTERN, isPinFormat, PIN_MIN_LENGTH } from "./credentials.js";

/** A character an Employee ID may hold (no ".": identity refuses it). */
export const isEmployeeIdChar = (ch) => EMPLOYEE_ID_CHAR_PATTERN.test(ch);

/** A PIN character: one that a PIN made only of it would be valid with (a digit). */
export const isPinChar = (ch) => ch.length === 1 && isPinFormat(ch.repeat(PIN_MIN_LENGTH));

/** `text` with only its PIN characters (a PIN field as it is typed or pasted). */
export function pinCharsOf(text) {
  return [...text].filter(isPinChar).join("");
}
