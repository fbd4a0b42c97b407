import { describe, expect, it } from "vitest";
import { CARD_NUMBER_MAX_LENGTH } from "../shared/credentials.js";
import { cardWedge, MAX_GAP_MS, MIN_DIGITS, onKey, wedgeStart } from "./card-wedge.js";

/** Types `keys` (an array of KeyboardEvent keys) `gap` ms apart from `start`; the cards read. */
function type(keys, gap, { start = 1000, detector = cardWedge(), extra = {} } = {}) {
  const cards = [];
  keys.forEach((key, i) => {
    const card = detector.feed({ key, timeStamp: start + i * gap, repeat: false, ...extra });
    if (card !== null) cards.push(card);
  });
  return cards;
}
const keysOf = (text) => [...text, "Enter"];

describe("a card reader typing like a keyboard", () => {
  it("reads a reader's burst of digits ended by Enter, keeping leading zeros", () => {
    expect(type(keysOf("0004211337"), 8)).toEqual(["0004211337"]);
    expect(type(keysOf("12345678"), MAX_GAP_MS)).toEqual(["12345678"]);
  });

  it("does not take a person typing the same digits for a card", () => {
    expect(type(keysOf("0004211337"), 120)).toEqual([]);
    expect(type(keysOf("12345678"), MAX_GAP_MS + 1)).toEqual([]);
  });

  it("needs at least MIN_DIGITS digits and a card number by the one rule", () => {
    expect(type(keysOf("1".repeat(MIN_DIGITS - 1)), 5)).toEqual([]);
    expect(type(keysOf("1".repeat(MIN_DIGITS)), 5)).toEqual(["1".repeat(MIN_DIGITS)]);
    expect(type(keysOf("9".repeat(CARD_NUMBER_MAX_LENGTH)), 5)).toEqual(["9".repeat(CARD_NUMBER_MAX_LENGTH)]);
    expect(type(keysOf("9".repeat(CARD_NUMBER_MAX_LENGTH + 1)), 5)).toEqual([]);
    expect(type(keysOf("9".repeat(60)), 5)).toEqual([]);
  });

  it("a slow Enter after a quick burst is a person's Enter", () => {
    const detector = cardWedge();
    expect(type([..."12345678"], 5, { detector })).toEqual([]);
    expect(detector.feed({ key: "Enter", timeStamp: 5000, repeat: false })).toBeNull();
  });

  it("a slow first key then a reader's burst: the burst alone is the card", () => {
    const detector = cardWedge();
    expect(type(["7"], 0, { detector, start: 0 })).toEqual([]);
    expect(type(keysOf("55512345"), 6, { detector, start: 2000 })).toEqual(["55512345"]);
  });

  it("any other key, a modifier or a held key ends the burst", () => {
    expect(type([..."1234", "a", ..."5678", "Enter"], 5)).toEqual(["5678"]);
    expect(type([..."12", "Shift", ..."34", "Enter"], 5)).toEqual([]);
    expect(type(keysOf("12345678"), 5, { extra: { ctrlKey: true } })).toEqual([]);
    expect(type(keysOf("11111111"), 5, { extra: { repeat: true } })).toEqual([]);
  });

  it("reads one card after another, and starts afresh after each Enter", () => {
    const detector = cardWedge();
    expect(type(keysOf("11112222"), 5, { detector, start: 0 })).toEqual(["11112222"]);
    expect(type(keysOf("33334444"), 5, { detector, start: 3000 })).toEqual(["33334444"]);
    expect(detector.feed({ key: "Enter", timeStamp: 3046, repeat: false })).toBeNull();
  });

  it("is a pure step function", () => {
    const start = wedgeStart();
    const { state } = onKey(start, "4", 10);
    expect(start).toEqual({ digits: "", last: null });
    expect(state).toEqual({ digits: "4", last: 10 });
    expect(onKey(state, "Enter", 12).card).toBeNull(); // one digit is no burst
  });
});
