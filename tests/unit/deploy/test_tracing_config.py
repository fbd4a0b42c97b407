"""Traces are exported in every rendered overlay: the shared ConfigMap gives the kit an OTLP/HTTP
endpoint (an OpenTelemetry Collector the operator runs) and a parent-based ratio sampler the
OpenTelemetry SDK accepts, and every service's NetworkPolicy lets it reach the collector."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased
from punchcard_kit.settings import ServiceSettings
from punchcard_kit.tracing import otlp_traces_endpoint

from tests.unit.deploy.test_kustomize_kafka_security import IDS, KUSTOMIZATIONS, _config, render


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=IDS)
def test_traces_go_to_the_collector_sampled_by_ratio(directory, monkeypatch):
    _, config = _config(directory)
    endpoint = config["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert config["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    ratio = float(config["OTEL_TRACES_SAMPLER_ARG"])
    assert 0 < ratio <= 1
    # As the kit reads it: spans go to <endpoint>/v1/traces (OTLP/HTTP).
    settings = ServiceSettings(environment="test", otel_exporter_otlp_endpoint=endpoint)
    assert otlp_traces_endpoint(settings) == endpoint.rstrip("/") + "/v1/traces"
    # As the SDK reads the sampler variables from the pod's environment.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", config["OTEL_TRACES_SAMPLER"])
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", config["OTEL_TRACES_SAMPLER_ARG"])
    sampler = TracerProvider().sampler
    assert isinstance(sampler, ParentBased)
    assert f"TraceIdRatioBased{{{ratio}}}" in sampler.get_description()

    # Every service may reach the collector's port (default deny otherwise).
    url = urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    namespace = url.hostname.split(".")[1]
    policies = [
        d
        for d in render(directory)
        if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] != "default-deny"
    ]
    assert len(policies) == 5
    for policy in policies:
        allowed = [
            rule
            for rule in policy["spec"]["egress"]
            if any(p["port"] == port for p in rule.get("ports", []))
            and any(
                peer.get("namespaceSelector", {})
                .get("matchLabels", {})
                .get("kubernetes.io/metadata.name")
                == namespace
                for peer in rule.get("to", [])
            )
        ]
        assert allowed, policy["metadata"]["name"]
