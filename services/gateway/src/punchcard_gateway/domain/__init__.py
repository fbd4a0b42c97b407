"""The gateway's domain: tenants, admin users and their roles, and the access rules of the
admin API. Pure Python; imports no driver."""
