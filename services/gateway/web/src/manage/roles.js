// What each admin role may do, as the portal shows it (pure). The gateway and the services
// decide (docs/security.md): these only keep a screen from offering what its admin would be
// refused.

/** Whether an admin of `role` changes workers, faces, cards, clock assignments and punches:
 * sysadmins and managers (a manager on their own sites); a viewer only reads. */
export function mayChange(role) {
  return role === "sysadmin" || role === "manager";
}

/** Whether an admin of `role` reads the audit log: sysadmins only (the gateway refuses the
 * others, services/gateway/README.md). */
export function mayReadAuditLog(role) {
  return role === "sysadmin";
}

/** Whether an admin of `role` adds and changes the tenant's admins (the Users page): sysadmins
 * only (GET and POST /users are sysadmin-only, services/gateway/README.md). */
export function mayManageUsers(role) {
  return role === "sysadmin";
}

/** Whether `me` (the signed-in admin, null until known) is known to only read: a screen
 * then shows no control that changes anything. */
export function readsOnly(me) {
  return Boolean(me) && !mayChange(me.role);
}
