"""Use cases of the admin side: login and refresh, admin users, tenants, the audit log."""
