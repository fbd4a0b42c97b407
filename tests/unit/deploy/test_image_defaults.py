"""The service image fails closed: its runtime stage says ENVIRONMENT=production, so a
container started without its settings refuses to start instead of using development keys."""

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[3] / "deploy" / "docker" / "Dockerfile"


def test_the_runtime_image_is_production_by_default():
    runtime = DOCKERFILE.read_text().split("AS runtime", 1)[1]
    env_lines = " ".join(line.strip().rstrip("\\") for line in runtime.splitlines() if line.strip())
    assert re.search(r"\bENVIRONMENT=production\b", env_lines)
    assert not re.search(r"\bENVIRONMENT=(development|test)\b", runtime)
