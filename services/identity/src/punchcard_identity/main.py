"""Entry point: ``punchcard-identity`` serves HTTP and runs the outbox relay and consumers;
``punchcard-identity migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .settings import IdentitySettings


def build_app(settings: IdentitySettings) -> FastAPI:
    return create_service_app(settings, package=__package__, title="Punchcard Identity")


def main() -> None:
    service_main(IdentitySettings, build_app, __package__)


if __name__ == "__main__":
    main()
