import os
import subprocess
import sys


def _run(spec: str) -> int:
    code = (
        "from punchcard_kit.failpoints import failpoint\n"
        "for i in range(5):\n"
        "    failpoint('here')\n"
        "    print(i, flush=True)\n"
    )
    env = {**os.environ, "PUNCHCARD_FAILPOINTS": spec}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return done.returncode, done.stdout.split()


def test_kill_on_the_nth_hit():
    code, printed = _run("here=kill@3")
    assert code == -9 and printed == ["0", "1"]


def test_other_names_do_nothing():
    code, printed = _run("elsewhere=kill")
    assert code == 0 and printed == ["0", "1", "2", "3", "4"]
