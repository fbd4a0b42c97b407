// The Users page's rules (pure): the Add user form → POST /users body and its messages, a
// change → the PATCH body, and which actions a row offers. The gateway decides
// (services/gateway/README.md, "users"); these keep the page from sending what it would
// refuse, or offering what it cannot do (nobody changes their own role or deactivates
// themselves).

export const ROLES = [
  ["sysadmin", "System administrator"],
  ["manager", "Manager"],
  ["viewer", "Viewer"],
];

/** As the gateway counts them (schemas.MIN_PASSWORD_LENGTH, admin passwords are 12–256
 * characters). */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** What is wrong with a new admin password, as `{field, message}` naming `field`, or null. */
export function newPasswordError(password, field = "password") {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return { field, message: `The password needs at least ${MIN_PASSWORD_LENGTH} characters.` };
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return { field, message: `The password can have at most ${MAX_PASSWORD_LENGTH} characters.` };
  }
  return null;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const roleLabel = (role) => ROLES.find(([r]) => r === role)?.[1] || role;

/** Only a manager's sites mean anything (a viewer reads, a sysadmin acts, tenant-wide). */
export const needsSites = (role) => role === "manager";

export function emptyUserForm() {
  return { email: "", name: "", role: "manager", password: "", site_ids: [], site: "" };
}

/** `sites` with `typed` (trimmed) added once; the same list when it is empty or there. */
export function addSite(sites, typed) {
  const site = (typed || "").trim();
  return !site || sites.includes(site) ? sites : [...sites, site];
}

/** The sites a form means: those added, and one still typed in the Site box. */
const sitesOf = (form) => (needsSites(form.role) ? addSite(form.site_ids || [], form.site) : []);

/** The first thing wrong with an Add user form, as `{field, message}` (the API's shape), or
 * null when it may be sent. */
export function newUserError(form) {
  const email = form.email.trim();
  if (!email) return { field: "email", message: "Enter an e-mail address." };
  if (!EMAIL.test(email)) return { field: "email", message: "Enter an e-mail address like name@example.com." };
  if (!form.name.trim()) return { field: "name", message: "Enter a name." };
  if (!ROLES.some(([r]) => r === form.role)) return { field: "role", message: "Choose a role." };
  if (needsSites(form.role) && sitesOf(form).length === 0) {
    return { field: "site_ids", message: "A manager needs at least one site." };
  }
  return newPasswordError(form.password, "password");
}

/** POST /users's body. */
export function newUserBody(form) {
  return {
    email: form.email.trim(),
    name: form.name.trim(),
    role: form.role,
    password: form.password,
    site_ids: sitesOf(form),
  };
}

/** The Edit form for `user`. */
export function editForm(user) {
  return { name: user.name, role: user.role, site_ids: [...user.site_ids], site: "" };
}

/** What is wrong with an Edit form, or null. */
export function editError(form) {
  if (!form.name.trim()) return { field: "name", message: "Enter a name." };
  if (needsSites(form.role) && sitesOf(form).length === 0) {
    return { field: "site_ids", message: "A manager needs at least one site." };
  }
  return null;
}

/** PATCH /users/{id}'s body: only what changed (empty: nothing to send). */
export function changesOf(user, form) {
  const changes = {};
  const name = form.name.trim();
  if (name !== user.name) changes.name = name;
  if (form.role !== user.role) changes.role = form.role;
  const sites = sitesOf(form);
  const same = sites.length === user.site_ids.length && sites.every((s, i) => s === user.site_ids[i]);
  if (!same) changes.site_ids = sites;
  return changes;
}

/** What is wrong with a Set password form ({password}), or null. */
export const setPasswordError = (form) => newPasswordError(form.password, "password");

/** POST /users/{id}/password's body. */
export const setPasswordBody = (form) => ({ password: form.password });

/** Whether `user` is locked out by failed sign-ins at `now` (the API answers null once a
 * lock has expired; a page open for a while checks the time itself). */
export function isLocked(user, now = new Date()) {
  return Boolean(user.locked_until) && new Date(user.locked_until) > now;
}

/** What a row offers `me` (the signed-in sysadmin): edit (everyone; one's own role stays),
 * deactivate or reactivate (not oneself), unlock (while locked), set a password (not one's
 * own: the gateway refuses it, 403 OWN_ACCOUNT; one's own is changed on the account page,
 * knowing the current one). */
export function rowActions(user, me, now = new Date()) {
  const self = Boolean(me) && me.id === user.id;
  return {
    self,
    edit: true,
    changeRole: !self,
    deactivate: user.active && !self,
    reactivate: !user.active,
    unlock: isLocked(user, now),
    setPassword: !self,
  };
}
