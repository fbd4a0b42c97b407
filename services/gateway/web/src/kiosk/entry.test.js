import { describe, expect, it } from "vitest";
import { EMPLOYEE_ID_MAX_LENGTH, isEmployeeId } from "../shared/credentials.js";
import { accepts, complete, DIGIT_KEYS, LETTER_KEYS, typeInto } from "./entry.js";

describe("the keypad types what identity accepts", () => {
  it("refuses '.' in an Employee ID, as identity does, and takes '-' and '_'", () => {
    expect(accepts("employee", ".")).toBe(false);
    expect(typeInto("employee", "AB", ".")).toBe("AB");
    expect(accepts("employee", "-")).toBe(true);
    expect(accepts("employee", "_")).toBe(true);
    expect(typeInto("employee", "AB", "-")).toBe("AB-");
    expect(typeInto("employee", "AB-", "_")).toBe("AB-_");
    expect(accepts("employee", "a")).toBe(true);
    expect(accepts("employee", "7")).toBe(true);
    for (const key of [" ", "/", "é", "Enter", "Shift", "@"]) expect(accepts("employee", key)).toBe(false);
  });

  it("offers no key identity would refuse", () => {
    expect(LETTER_KEYS).not.toContain(".");
    expect(LETTER_KEYS).toEqual(expect.arrayContaining(["A", "Z", "-", "_"]));
    for (const key of [...DIGIT_KEYS, ...LETTER_KEYS, "0"]) expect(accepts("employee", key)).toBe(true);
    expect(isEmployeeId(LETTER_KEYS.join(""))).toBe(true);
  });

  it("stops at the longest Employee ID; OK needs one character", () => {
    const full = "A".repeat(EMPLOYEE_ID_MAX_LENGTH);
    expect(typeInto("employee", full, "B")).toBe(full);
    expect(complete("employee", "")).toBe(false);
    expect(complete("employee", "7")).toBe(true);
    expect(complete("employee", full)).toBe(true);
  });

  it("a PIN: digits only, 4 to 6 of them", () => {
    expect(accepts("pin", "5")).toBe(true);
    for (const key of ["a", "-", "_", ".", "55", ""]) expect(accepts("pin", key)).toBe(false);
    expect(typeInto("pin", "123456", "7")).toBe("123456");
    expect(complete("pin", "123")).toBe(false);
    expect(complete("pin", "1234")).toBe(true);
    expect(complete("pin", "123456")).toBe(true);
  });
});
