// Your account: change your own password (any admin; POST /me/password). The gateway ends
// every session of yours and answers this one's new tokens, which api.js's changePassword
// keeps, so this tab stays signed in. The rules (body, messages): account/rules.js.
import { useState } from "preact/hooks";
import { changePassword } from "../api.js";
import { Button, ErrorBanner, Notice, Page, TextField, useAction } from "../ui.jsx";
import { changePasswordBody, changePasswordError, emptyPasswordForm } from "./account/rules.js";
import { MIN_PASSWORD_LENGTH } from "./users/rules.js";

export function Account() {
  const [form, setForm] = useState(emptyPasswordForm());
  const [changed, setChanged] = useState(false);
  const action = useAction();
  const set = (key) => (e) => {
    setChanged(false);
    setForm({ ...form, [key]: e.currentTarget.value });
  };
  const submit = async (e) => {
    e.preventDefault();
    setChanged(false);
    await action.submit(
      changePasswordError(form),
      () => {
        const body = changePasswordBody(form);
        return changePassword(body.current_password, body.new_password);
      },
      () => {
        setForm(emptyPasswordForm());
        setChanged(true);
      },
    );
  };
  return (
    <Page title="Change password">
      {changed && (
        <Notice tone="ok">
          Your password has been changed. Your other sign-ins have ended; this one goes on.
        </Notice>
      )}
      <section class="card">
        <form class="stack" onSubmit={submit} noValidate>
          <ErrorBanner error={action.generalError} />
          <TextField
            label="Current password"
            type="password"
            required
            value={form.current_password}
            onInput={set("current_password")}
            error={action.fieldError("current_password")}
            autoComplete="current-password"
          />
          <TextField
            label="New password"
            type="password"
            hint={`At least ${MIN_PASSWORD_LENGTH} characters`}
            required
            value={form.new_password}
            onInput={set("new_password")}
            error={action.fieldError("new_password")}
            autoComplete="new-password"
          />
          <TextField
            label="Confirm new password"
            type="password"
            required
            value={form.confirm_password}
            onInput={set("confirm_password")}
            error={action.fieldError("confirm_password")}
            autoComplete="new-password"
          />
          <div class="row">
            <Button type="submit" busy={action.busy}>
              Change password
            </Button>
          </div>
        </form>
      </section>
    </Page>
  );
}
