// Badge cards and clock roles: what the pages check before sending, and how a refusal reads.
import { describe, expect, it } from "vitest";
import { CLOCK_ROLES, cardNumberError, cardNumberOf, cardRefusal, roleName, roleOptions } from "./cards.js";

describe("badge cards", () => {
  it("takes what a reader types, spaces around it trimmed", () => {
    expect(cardNumberOf(" 0004471234\n")).toBe("0004471234");
    expect(cardNumberError(" 0004471234\n")).toBeNull();
    expect(cardNumberError("9".repeat(20))).toBeNull();
  });

  it("refuses an empty, long or non-digit number before sending it", () => {
    expect(cardNumberError("  ")).toMatch(/Enter or scan/);
    for (const bad of ["12a", "12 34", "9".repeat(21), "-1", "١٢٣"]) {
      expect(cardNumberError(bad)).toMatch(/1–20 digits/);
    }
  });

  it("says plainly why the API refused a card", () => {
    expect(cardRefusal({ code: "DUPLICATE_CARD", message: "another worker has this card number" })).toMatch(
      /Another worker already has this card/,
    );
    expect(cardRefusal({ code: "TOO_MANY_CARDS", message: "a worker holds at most 10 cards" })).toBe(
      "a worker holds at most 10 cards",
    );
    expect(cardRefusal({ code: "INVALID", field: "number" })).toMatch(/1–20 digits/);
    expect(cardRefusal({ code: "FORBIDDEN" })).toBeNull();
  });
});

describe("clock roles", () => {
  const values = (options) => options.map(([value]) => value);

  it("a sysadmin may choose any role", () => {
    expect(values(roleOptions(true, "USER"))).toEqual(["USER", "MANAGER", "ADMINISTRATOR"]);
  });

  it("a manager grants User and Manager, and cannot take Administrator away", () => {
    expect(values(roleOptions(false, "USER"))).toEqual(["USER", "MANAGER"]);
    expect(values(roleOptions(false, "MANAGER"))).toEqual(["USER", "MANAGER"]);
    expect(values(roleOptions(false, "ADMINISTRATOR"))).toEqual(["ADMINISTRATOR"]);
  });

  it("names each role, and a missing one as User", () => {
    expect(CLOCK_ROLES).toHaveLength(3);
    expect(roleName("MANAGER")).toBe("Manager (may enrol others)");
    expect(roleName(undefined)).toBe("User");
  });
});
