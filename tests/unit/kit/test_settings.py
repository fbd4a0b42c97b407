import pytest
from punchcard_kit.settings import ServiceSettings, load_settings


class DemoSettings(ServiceSettings):
    service_name: str = "demo-svc"


def test_development_defaults_to_the_local_stack(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = DemoSettings(environment="development")
    assert s.database_url.endswith("/punchcard_demo_svc")
    assert s.kafka_bootstrap_servers == "127.0.0.1:19092"


def test_test_environment_defaults_to_the_tests_own_stack(monkeypatch):
    """Tests never share servers with the system `make run` runs (issue 14, finding 1a)."""
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    dev = DemoSettings(environment="development")
    test = DemoSettings(environment="test")
    assert test.database_url.startswith("postgresql://postgres@127.0.0.1:15442/")
    assert (test.kafka_bootstrap_servers, test.redis_url) == (
        "127.0.0.1:19102",
        "redis://127.0.0.1:16389/0",
    )
    assert {dev.database_url, dev.kafka_bootstrap_servers, dev.redis_url}.isdisjoint(
        {test.database_url, test.kafka_bootstrap_servers, test.redis_url}
    )


def test_production_requires_servers_and_names_them(monkeypatch, capsys):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(DemoSettings)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and "KAFKA_BOOTSTRAP_SERVERS" in err


def test_invalid_value_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("HTTP_PORT", "not-a-port")
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    assert "HTTP_PORT" in capsys.readouterr().err


def test_the_local_stacks_ports_are_never_a_client_sockets_or_a_test_brokers():
    """Below the ports tests pick for brokers of their own (kafka_instance.FIRST_PORT, itself
    below the kernel's ephemeral range: deploy/local/README.md); the same in scripts/stack, the
    settings' defaults and the Makefile."""
    import re
    from pathlib import Path

    from punchcard_kit.settings import LOCAL_STACKS

    from tests.support.kafka_instance import FIRST_PORT

    repo = Path(__file__).resolve().parents[3]
    script = (repo / "scripts" / "stack").read_text()
    stacks = re.findall(r"^\s+(run|test)\) DEFAULT_LOCAL=\S+ PORTS=\(([\d ]+)\)", script, re.M)
    ports = {name: [int(p) for p in found.split()] for name, found in stacks}
    assert set(ports) == {"run", "test"} and all(len(p) == 4 for p in ports.values())
    assert all(1024 < p < FIRST_PORT for p in ports["run"] + ports["test"])
    assert set(ports["run"]).isdisjoint(ports["test"])
    for environment, profile in (("development", "run"), ("test", "test")):
        pg, kafka, redis = LOCAL_STACKS[environment]
        found = [int(re.search(r":(\d+)/?\d*$", url).group(1)) for url in (pg, redis, kafka)]
        assert found == ports[profile][:3]
    makefile = (repo / "Makefile").read_text()
    assert set(re.findall(r"127\.0\.0\.1:(\d+)", makefile)) <= {
        str(p) for p in ports["run"] + ports["test"]
    }
