from punchcard_kit.migrations import run_env

run_env()
