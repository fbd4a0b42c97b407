// Users: the tenant's admins (sysadmins only, services/gateway/README.md "users"): the list
// with each one's role, sites and state; Add user (e-mail, name, role, a manager's sites, an
// initial password); per user: change name, role and sites, deactivate or reactivate, unlock
// a sign-in lock. The rules (bodies, messages, which actions a row offers): users/rules.js.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../api.js";
import { formatDateTime } from "../../shared/format.js";
import { mayManageUsers } from "../roles.js";
import { Badge, Button, ConfirmButton, ErrorBanner, Loading, Notice, Page, Pager, SelectField, TextField, useAction, useLoad, useMe } from "../ui.jsx";
import { Empty, withQuery } from "./common.jsx";
import { SiteField } from "./pickers.jsx";
import {
  ROLES,
  addSite,
  changesOf,
  editError,
  editForm,
  emptyUserForm,
  isLocked,
  needsSites,
  newUserBody,
  newUserError,
  roleLabel,
  rowActions,
} from "./users/rules.js";

const PAGE_SIZE = 50;

export function Users() {
  const me = useMe();
  if (!me) return <Loading what="Loading the users" />;
  if (!mayManageUsers(me.role)) {
    return (
      <Page title="Users">
        <Notice>Users are managed by system administrators.</Notice>
      </Page>
    );
  }
  return <UsersPage me={me} />;
}

function UsersPage({ me }) {
  const { query, route } = useLocation();
  const offset = Math.max(0, parseInt(query.offset || "0", 10) || 0);
  const list = useLoad(() => client.listUsers({ query: { offset, limit: PAGE_SIZE } }), [offset]);
  const [editing, setEditing] = useState(null);
  const rows = list.data?.data || [];
  const count = list.data?.count ?? 0;
  const editedUser = rows.find((u) => u.id === editing);
  return (
    <Page title="Users">
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="Loading the users" />
      ) : (
        list.data && (
          <div class="table-wrap">
            <table>
              <caption class="sr-only">The tenant's admins</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Sites</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((u) => (
                  <UserRow key={u.id} user={u} me={me} onEdit={() => setEditing(u.id)} onChange={list.reload} />
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <Empty>No users.</Empty>}
          </div>
        )
      )}
      <Pager offset={offset} count={count} pageSize={PAGE_SIZE} onGo={(o) => route(withQuery("/manage/users", { offset: o }))} />
      {editedUser && (
        <EditUser
          key={editedUser.id}
          user={editedUser}
          me={me}
          onDone={() => {
            setEditing(null);
            list.reload();
          }}
        />
      )}
      <AddUser onAdded={list.reload} />
    </Page>
  );
}

function UserState({ user }) {
  return (
    <span class="row">
      {user.active ? <Badge tone="ok">Active</Badge> : <Badge tone="neutral">Inactive</Badge>}
      {isLocked(user) && (
        <span title={`Locked after failed sign-ins until ${formatDateTime(user.locked_until)}`}>
          <Badge tone="danger">Locked</Badge>
        </span>
      )}
    </span>
  );
}

function UserRow({ user, me, onEdit, onChange }) {
  const action = useAction();
  const can = rowActions(user, me);
  const change = (fn) => action.run(fn).then(onChange, () => {});
  return (
    <tr>
      <th scope="row">
        {user.name}
        {can.self && <span class="muted"> (you)</span>}
      </th>
      <td>{user.email}</td>
      <td>{roleLabel(user.role)}</td>
      <td>{needsSites(user.role) ? user.site_ids.join(", ") || "—" : <span class="muted">All</span>}</td>
      <td>
        <UserState user={user} />
      </td>
      <td>
        <div class="row row-actions">
          <Button type="button" variant="secondary" onClick={onEdit} aria-label={`Edit ${user.name}`}>
            Edit
          </Button>
          {can.deactivate && (
            <ConfirmButton
              label="Deactivate"
              title={`Deactivate ${user.name}?`}
              message="They can no longer sign in, and their sign-ins end now. You can reactivate them later."
              busy={action.busy}
              onConfirm={() => change(() => client.updateUser(user.id, { json: { active: false } }))}
            />
          )}
          {can.reactivate && (
            <Button type="button" variant="secondary" busy={action.busy} onClick={() => change(() => client.updateUser(user.id, { json: { active: true } }))}>
              Reactivate
            </Button>
          )}
          {can.unlock && (
            <Button type="button" variant="secondary" busy={action.busy} onClick={() => change(() => client.unlockUser(user.id))}>
              Unlock
            </Button>
          )}
        </div>
        {action.error && (
          <p class="field-error" role="alert">
            {action.error.message}
          </p>
        )}
      </td>
    </tr>
  );
}

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

function AddUser({ onAdded }) {
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
    const wrong = newUserError(form);
    if (wrong) {
      action.setError(wrong);
      return;
    }
    try {
      const user = await action.run(() => client.createUser({ json: newUserBody(form) }));
      setForm(emptyUserForm());
      setAdded(user);
      onAdded();
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
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

function EditUser({ user, me, onDone }) {
  const [form, setForm] = useState(editForm(user));
  const action = useAction();
  const can = rowActions(user, me);
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const wrong = editError(form);
    if (wrong) {
      action.setError(wrong);
      return;
    }
    const changes = changesOf(user, form);
    if (Object.keys(changes).length === 0) return onDone();
    try {
      await action.run(() => client.updateUser(user.id, { json: changes }));
      onDone();
    } catch {
      /* shown next to its field; the form keeps what was typed */
    }
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
