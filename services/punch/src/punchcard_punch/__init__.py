"""Punchcard punch service. The punch ledger: turns identification verdicts into recorded or
rejected punches, append-only, and serves punches and timesheets."""
