import { describe, expect, test } from "vitest";
import { changePasswordBody, changePasswordError, emptyPasswordForm } from "./rules.js";

const form = (changes) => ({
  ...emptyPasswordForm(),
  current_password: "the old long password",
  new_password: "a new long password",
  confirm_password: "a new long password",
  ...changes,
});

describe("Change password", () => {
  test("a complete form may be sent, as typed", () => {
    expect(changePasswordError(form())).toBeNull();
    expect(changePasswordBody(form({ new_password: " spaced ", confirm_password: " spaced " }))).toEqual({
      current_password: "the old long password",
      new_password: " spaced ",
    });
  });

  test("each message names the field it belongs beside", () => {
    expect(changePasswordError(form({ current_password: "" }))).toEqual({ field: "current_password", message: "Enter your current password." });
    expect(changePasswordError(form({ new_password: "short", confirm_password: "short" }))).toEqual({
      field: "new_password",
      message: "The password needs at least 12 characters.",
    });
    const long = "x".repeat(257);
    expect(changePasswordError(form({ new_password: long, confirm_password: long })).field).toBe("new_password");
  });

  test("the two new passwords differ", () => {
    expect(changePasswordError(form({ confirm_password: "a new long passwore" }))).toEqual({
      field: "confirm_password",
      message: "The two new passwords differ: type the new one again.",
    });
    expect(changePasswordError(form({ confirm_password: "" })).field).toBe("confirm_password");
  });

  test("an empty form asks for the current password first", () => {
    expect(changePasswordError(emptyPasswordForm()).field).toBe("current_password");
  });
});
