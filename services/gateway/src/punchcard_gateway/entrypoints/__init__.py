"""HTTP routers, the audit middleware, the error model and the command line."""
