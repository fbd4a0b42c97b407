"""Entry point: ``punchcard-gateway`` serves HTTP and runs the outbox relay and consumers;
``punchcard-gateway migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .settings import GatewaySettings


def build_app(settings: GatewaySettings) -> FastAPI:
    return create_service_app(settings, package=__package__, title="Punchcard Gateway")


def main() -> None:
    service_main(GatewaySettings, build_app, __package__)


if __name__ == "__main__":
    main()
