// Badge cards and clock roles: the words and small rules the worker and clock pages share
// (pure). The card number rule is the kit's one rule (shared/credentials.js, generated).
import { CARD_NUMBER_MAX_LENGTH, isCardNumber } from "../../../shared/credentials.js";

/** The number as it will be sent (a card reader may add spaces or a newline around it). */
export const cardNumberOf = (typed) => typed.trim();

/** Why a typed card number is refused before it is sent, or null. */
export function cardNumberError(typed) {
  const number = cardNumberOf(typed);
  if (!number) return "Enter or scan the card's number.";
  if (!isCardNumber(number)) return `A card number is 1–${CARD_NUMBER_MAX_LENGTH} digits (no spaces or letters).`;
  return null;
}

/** What to say when the API refuses a card (null: the error's own message). */
export function cardRefusal(error) {
  switch (error?.code) {
    case "DUPLICATE_CARD":
      return "Another worker already has this card. Delete it from them first.";
    case "TOO_MANY_CARDS":
      return error.message;
    case "CARD_FORMAT":
    case "INVALID":
      return `A card number is 1–${CARD_NUMBER_MAX_LENGTH} digits (no spaces or letters).`;
    case "CARD_NOT_FOUND":
      return "The worker no longer has this card.";
    default:
      return null;
  }
}

/** A worker's roles on a clock, as the API names them and as the portal says them. */
export const CLOCK_ROLES = [
  ["USER", "User"],
  ["MANAGER", "Manager (may enrol others)"],
  ["ADMINISTRATOR", "Administrator (clock settings)"],
];

/**
 * The roles an admin may choose for a worker now holding `current`: a sysadmin any; a manager
 * USER and MANAGER, and ADMINISTRATOR only to keep it (only a sysadmin grants or takes it away).
 */
export function roleOptions(sysadmin, current) {
  if (sysadmin) return CLOCK_ROLES;
  if (current === "ADMINISTRATOR") return CLOCK_ROLES.filter(([value]) => value === "ADMINISTRATOR");
  return CLOCK_ROLES.filter(([value]) => value !== "ADMINISTRATOR");
}

export const roleName = (role) => (CLOCK_ROLES.find(([value]) => value === role) || [role, role || "User"])[1];
