import { describe, expect, test } from "vitest";
import { mayChange, mayManageUsers, mayReadAuditLog, readsOnly } from "./roles.js";

describe("roles", () => {
  test("sysadmins and managers change; a viewer only reads", () => {
    expect(mayChange("sysadmin")).toBe(true);
    expect(mayChange("manager")).toBe(true);
    expect(mayChange("viewer")).toBe(false);
    expect(mayChange(undefined)).toBe(false);
  });

  test("the audit log is for sysadmins", () => {
    expect(mayReadAuditLog("sysadmin")).toBe(true);
    expect(mayReadAuditLog("manager")).toBe(false);
    expect(mayReadAuditLog("viewer")).toBe(false);
  });

  test("the Users page is for sysadmins", () => {
    expect(mayManageUsers("sysadmin")).toBe(true);
    expect(mayManageUsers("manager")).toBe(false);
    expect(mayManageUsers("viewer")).toBe(false);
    expect(mayManageUsers(undefined)).toBe(false);
  });

  test("a viewer reads only; an admin not yet known is not taken for one", () => {
    expect(readsOnly({ role: "viewer" })).toBe(true);
    expect(readsOnly({ role: "manager" })).toBe(false);
    expect(readsOnly({ role: "sysadmin" })).toBe(false);
    expect(readsOnly(null)).toBe(false);
  });
});
