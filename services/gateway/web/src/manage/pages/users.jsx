// Users: the tenant's admins (sysadmins only, services/gateway/README.md "users"): the list
// with each one's role, sites and state; Add user (e-mail, name, role, a manager's sites, an
// initial password); per user: change name, role and sites, deactivate or reactivate, unlock
// a sign-in lock, set another admin's password (one who forgot theirs; not one's own). The
// forms: users/forms.jsx; the rules (bodies, messages, which actions a row offers):
// users/rules.js.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../api.js";
import { formatDateTime } from "../../shared/format.js";
import { mayManageUsers } from "../roles.js";
import { Badge, Button, ConfirmButton, ErrorBanner, Loading, Notice, Page, Pager, useAction, useLoad, useMe } from "../ui.jsx";
import { Empty, withQuery } from "./common.jsx";
import { AddUser, EditUser, SetPassword } from "./users/forms.jsx";
import { isLocked, needsSites, roleLabel, rowActions } from "./users/rules.js";

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
  const [settingPassword, setSettingPassword] = useState(null);
  const [passwordSet, setPasswordSet] = useState(null);
  const rows = list.data?.data || [];
  const count = list.data?.count ?? 0;
  const editedUser = rows.find((u) => u.id === editing);
  const passwordUser = rows.find((u) => u.id === settingPassword);
  return (
    <Page title="Users">
      <ErrorBanner error={list.error} />
      {passwordSet && (
        <Notice tone="ok">
          {passwordSet.name}'s password is set and their sign-ins have ended: give them the new password privately.
        </Notice>
      )}
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
                  <UserRow
                    key={u.id}
                    user={u}
                    me={me}
                    onEdit={() => setEditing(u.id)}
                    onSetPassword={() => {
                      setPasswordSet(null);
                      setSettingPassword(u.id);
                    }}
                    onChange={list.reload}
                  />
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
      {passwordUser && (
        <SetPassword
          key={passwordUser.id}
          user={passwordUser}
          onDone={(done) => {
            setSettingPassword(null);
            setPasswordSet(done);
            if (done) list.reload();
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

function UserRow({ user, me, onEdit, onSetPassword, onChange }) {
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
          {can.setPassword && (
            <Button type="button" variant="secondary" onClick={onSetPassword} aria-label={`Set password for ${user.name}`}>
              Set password
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
