// The Users page's forms: Add user, Edit (name, role, a manager's sites), Set password
// (another admin's) and the Sites box they share. Their rules: rules.js.
import { useState } from "preact/hooks";
import { client } from "../../api.js";
import { Badge, Button, ErrorBanner, SelectField, TextField, useAction } from "../../ui.jsx";
import { SiteField } from "../pickers.jsx";
import {
  MIN_PASSWORD_LENGTH,
  ROLES,
  addSite,
  changesOf,
  editError,
  editForm,
  emptyUserForm,
  needsSites,
  newUserBody,
  newUserError,
  rowActions,
  setPasswordBody,
  setPasswordError,
} from "./rules.js";

/** A manager's sites: those added (each removable) and a Site box suggesting the tenant's. */
function SitesField({ form, setForm, error }) {
  const add = () => setForm({ ...form, site_ids: addSite(form.site_ids, form.site), site: "" });
  return (
    <fieldset class="stack sites-field">
      <legend>Sites</legend>
      {form.site_ids.length > 0 && (
        <ul class="row sites-added" aria-label="Sites added">
          {form.site_ids.map((s) => (
            <li key={s} class="row">
              <Badge tone="info">{s}</Badge>
              <Button type="button" variant="link" aria-label={`Remove site ${s}`} onClick={() => setForm({ ...form, site_ids: form.site_ids.filter((x) => x !== s) })}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
      {/* Enter in the Site box adds the site rather than sending the form. */}
      <div
        class="row"
        onKeyDown={(e) => {
          if (e.key === "Enter" && e.target.tagName === "INPUT") {
            e.preventDefault();
            add();
          }
        }}
      >
        <SiteField
          label="Site"
          hint="The sites this manager manages: type one (or pick a suggestion) and add it"
          value={form.site}
          onInput={(e) => setForm({ ...form, site: e.currentTarget.value })}
          error={error}
        />
        <Button type="button" variant="secondary" onClick={add}>
          Add site
        </Button>
      </div>
    </fieldset>
  );
}

export function AddUser({ onAdded }) {
  const [form, setForm] = useState(emptyUserForm());
  const [added, setAdded] = useState(null);
  const action = useAction();
  const set = (key) => (e) => {
    setAdded(null);
    setForm({ ...form, [key]: e.currentTarget.value });
  };
  const submit = async (e) => {
    e.preventDefault();
    setAdded(null);
    await action.submit(
      newUserError(form),
      () => client.createUser({ json: newUserBody(form) }),
      (user) => {
        setForm(emptyUserForm());
        setAdded(user);
        onAdded();
      },
    );
  };
  return (
    <section class="card" aria-labelledby="add-user-h">
      <h2 id="add-user-h">Add user</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <ErrorBanner error={action.generalError} />
        <TextField label="E-mail" type="email" required value={form.email} onInput={set("email")} error={action.fieldError("email")} autoComplete="off" />
        <TextField label="Name" required value={form.name} onInput={set("name")} error={action.fieldError("name")} autoComplete="off" />
        <SelectField label="Role" value={form.role} onChange={set("role")} error={action.fieldError("role")} options={ROLES} />
        {needsSites(form.role) && <SitesField form={form} setForm={setForm} error={action.fieldError("site_ids")} />}
        <TextField
          label="Initial password"
          type="password"
          hint="At least 12 characters; give it to them privately"
          required
          value={form.password}
          onInput={set("password")}
          error={action.fieldError("password")}
          autoComplete="new-password"
        />
        <div class="row">
          <Button type="submit" busy={action.busy}>
            Add user
          </Button>
          {added && <span role="status">Added {added.name}.</span>}
        </div>
      </form>
    </section>
  );
}

export function EditUser({ user, me, onDone }) {
  const [form, setForm] = useState(editForm(user));
  const action = useAction();
  const can = rowActions(user, me);
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const wrong = editError(form);
    const changes = changesOf(user, form);
    if (!wrong && Object.keys(changes).length === 0) return onDone();
    await action.submit(
      wrong,
      () => client.updateUser(user.id, { json: changes }),
      () => onDone(),
    );
  };
  return (
    <section class="card" aria-labelledby="edit-user-h">
      <h2 id="edit-user-h">Edit {user.name}</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <ErrorBanner error={action.generalError} />
        <TextField label="Name" required value={form.name} onInput={set("name")} error={action.fieldError("name")} autoComplete="off" />
        <SelectField
          label="Role"
          value={form.role}
          onChange={set("role")}
          error={action.fieldError("role")}
          disabled={!can.changeRole}
          options={ROLES}
        />
        {!can.changeRole && <p class="hint">Nobody changes their own role: another system administrator can.</p>}
        {needsSites(form.role) && <SitesField form={form} setForm={setForm} error={action.fieldError("site_ids")} />}
        <div class="row">
          <Button type="submit" busy={action.busy}>
            Save changes
          </Button>
          <Button type="button" variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        </div>
      </form>
    </section>
  );
}

/** Another admin's new password (one who forgot theirs): POST /users/{id}/password. Their
 * sign-in lock goes and every session of theirs ends; `onDone(user)` after it was set,
 * `onDone(null)` on Cancel. */
export function SetPassword({ user, onDone }) {
  const [form, setForm] = useState({ password: "" });
  const action = useAction();
  const submit = async (e) => {
    e.preventDefault();
    await action.submit(
      setPasswordError(form),
      () => client.setPassword(user.id, { json: setPasswordBody(form) }),
      () => onDone(user),
    );
  };
  return (
    <section class="card" aria-labelledby="set-password-h">
      <h2 id="set-password-h">Set a password for {user.name}</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <ErrorBanner error={action.generalError} />
        <TextField
          label="New password"
          type="password"
          hint={`At least ${MIN_PASSWORD_LENGTH} characters; give it to them privately. Their sign-ins end now.`}
          required
          value={form.password}
          onInput={(e) => setForm({ password: e.currentTarget.value })}
          error={action.fieldError("password")}
          autoComplete="new-password"
        />
        <div class="row">
          <Button type="submit" busy={action.busy}>
            Set password
          </Button>
          <Button type="button" variant="secondary" onClick={() => onDone(null)}>
            Cancel
          </Button>
        </div>
      </form>
    </section>
  );
}
