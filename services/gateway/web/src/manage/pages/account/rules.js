// The account page's rules (pure): the Change password form → POST /me/password's body, and
// what is wrong with it before it is sent, as `{field, message}` (the API's shape) naming the
// field it belongs beside. The gateway decides (services/gateway/README.md, "users"): a wrong
// current password is its 403 WRONG_PASSWORD, field current_password.
import { newPasswordError } from "../users/rules.js";

export function emptyPasswordForm() {
  return { current_password: "", new_password: "", confirm_password: "" };
}

/** The first thing wrong with a Change password form, or null when it may be sent. */
export function changePasswordError(form) {
  if (!form.current_password) return { field: "current_password", message: "Enter your current password." };
  const wrong = newPasswordError(form.new_password, "new_password");
  if (wrong) return wrong;
  if (form.confirm_password !== form.new_password) {
    return { field: "confirm_password", message: "The two new passwords differ: type the new one again." };
  }
  return null;
}

/** POST /me/password's body (passwords are sent as typed: spaces count). */
export function changePasswordBody(form) {
  return { current_password: form.current_password, new_password: form.new_password };
}
