"""Entry point: ``punchcard-punch`` serves HTTP and runs the outbox relay and consumers;
``punchcard-punch migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .settings import PunchSettings


def build_app(settings: PunchSettings) -> FastAPI:
    return create_service_app(settings, package=__package__, title="Punchcard Punch")


def main() -> None:
    service_main(PunchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
