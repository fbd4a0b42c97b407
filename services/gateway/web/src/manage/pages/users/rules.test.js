import { describe, expect, test } from "vitest";
import {
  addSite,
  changesOf,
  editError,
  editForm,
  emptyUserForm,
  newPasswordError,
  newUserBody,
  newUserError,
  rowActions,
  setPasswordBody,
  setPasswordError,
} from "./rules.js";

const form = (changes) => ({ ...emptyUserForm(), email: " Grace@Example.com ", name: " Grace ", password: "correct-horse-battery", site_ids: ["North"], ...changes });

describe("Add user", () => {
  test("the body: trimmed, a manager's sites with the one still typed", () => {
    expect(newUserBody(form({ site: " South " }))).toEqual({
      email: "Grace@Example.com",
      name: "Grace",
      role: "manager",
      password: "correct-horse-battery",
      site_ids: ["North", "South"],
    });
  });

  test("a viewer or a sysadmin is sent no sites", () => {
    expect(newUserBody(form({ role: "viewer", site: "South" })).site_ids).toEqual([]);
    expect(newUserBody(form({ role: "sysadmin" })).site_ids).toEqual([]);
  });

  test("each message names its field", () => {
    expect(newUserError(form())).toBeNull();
    expect(newUserError(form({ email: "" })).field).toBe("email");
    expect(newUserError(form({ email: "grace" })).field).toBe("email");
    expect(newUserError(form({ name: "  " })).field).toBe("name");
    expect(newUserError(form({ site_ids: [] }))).toEqual({ field: "site_ids", message: "A manager needs at least one site." });
    expect(newUserError(form({ site_ids: [], site: "North" }))).toBeNull();
    expect(newUserError(form({ site_ids: [], role: "viewer" }))).toBeNull();
    expect(newUserError(form({ password: "short" })).field).toBe("password");
    expect(newUserError(form({ password: "x".repeat(12) }))).toBeNull();
    expect(newUserError(form({ password: "x".repeat(257) })).field).toBe("password");
  });

  test("a site is added once, trimmed", () => {
    expect(addSite(["North"], " South ")).toEqual(["North", "South"]);
    expect(addSite(["North"], "North")).toEqual(["North"]);
    expect(addSite(["North"], "  ")).toEqual(["North"]);
  });
});

const user = { id: "u1", name: "Grace", role: "manager", site_ids: ["North"], active: true, locked_until: null };

describe("Edit user", () => {
  test("only what changed is sent", () => {
    expect(changesOf(user, editForm(user))).toEqual({});
    expect(changesOf(user, { ...editForm(user), role: "viewer" })).toEqual({ role: "viewer", site_ids: [] });
    expect(changesOf(user, { ...editForm(user), site: "South" })).toEqual({ site_ids: ["North", "South"] });
    expect(changesOf(user, { ...editForm(user), name: " Grace H " })).toEqual({ name: "Grace H" });
  });

  test("a manager keeps at least one site", () => {
    expect(editError({ ...editForm(user), site_ids: [] }).field).toBe("site_ids");
    expect(editError({ ...editForm(user), site_ids: [], role: "viewer" })).toBeNull();
  });
});

describe("a row's actions", () => {
  const now = new Date("2026-03-01T10:00:00Z");
  test("nobody deactivates themselves or changes their own role", () => {
    const mine = rowActions(user, { id: "u1" }, now);
    expect(mine).toMatchObject({ self: true, edit: true, changeRole: false, deactivate: false, reactivate: false });
    const other = rowActions(user, { id: "me" }, now);
    expect(other).toMatchObject({ self: false, changeRole: true, deactivate: true, reactivate: false });
  });

  test("an inactive user is reactivated; a locked one unlocked until the lock expires", () => {
    expect(rowActions({ ...user, active: false }, { id: "me" }, now)).toMatchObject({ deactivate: false, reactivate: true });
    expect(rowActions({ ...user, locked_until: "2026-03-01T10:15:00Z" }, { id: "me" }, now).unlock).toBe(true);
    expect(rowActions({ ...user, locked_until: "2026-03-01T09:59:00Z" }, { id: "me" }, now).unlock).toBe(false);
    expect(rowActions(user, { id: "me" }, now).unlock).toBe(false);
  });
});

describe("Set password", () => {
  test("offered for every other admin, active or not, never for oneself", () => {
    expect(rowActions(user, { id: "u1" }).setPassword).toBe(false);
    expect(rowActions(user, { id: "me" }).setPassword).toBe(true);
    expect(rowActions({ ...user, active: false }, { id: "me" }).setPassword).toBe(true);
  });

  test("the password is 12 to 256 characters, sent as typed", () => {
    expect(setPasswordError({ password: "x".repeat(11) })).toEqual({ field: "password", message: "The password needs at least 12 characters." });
    expect(setPasswordError({ password: "x".repeat(12) })).toBeNull();
    expect(setPasswordError({ password: "x".repeat(256) })).toBeNull();
    expect(setPasswordError({ password: "x".repeat(257) }).field).toBe("password");
    expect(setPasswordBody({ password: " spaces count too " })).toEqual({ password: " spaces count too " });
  });

  test("a password error names the field it is given", () => {
    expect(newPasswordError("short", "new_password").field).toBe("new_password");
  });
});
