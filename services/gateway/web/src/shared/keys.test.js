import { describe, expect, it } from "vitest";
import { isEmployeeIdChar, isPinChar, pinCharsOf } from "./keys.js";

describe("the credentials rule, character by character", () => {
  it("an Employee ID takes letters, digits, - and _, never '.'", () => {
    for (const ch of ["a", "Z", "0", "9", "-", "_"]) expect(isEmployeeIdChar(ch)).toBe(true);
    for (const ch of [".", " ", "/", "é", "@", "ab"]) expect(isEmployeeIdChar(ch)).toBe(false);
  });

  it("a PIN takes digits only, as the portal's PIN field keeps them", () => {
    for (const ch of "0123456789") expect(isPinChar(ch)).toBe(true);
    for (const ch of ["a", "-", ".", " ", "٣", "12", ""]) expect(isPinChar(ch)).toBe(false);
    expect(pinCharsOf("12a3-4 5")).toBe("12345");
    expect(pinCharsOf("")).toBe("");
  });
});
