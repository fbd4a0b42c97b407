"""Entry point: ``punchcard-face-match`` serves HTTP and runs the outbox relay and consumers;
``punchcard-face-match migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .settings import FaceMatchSettings


def build_app(settings: FaceMatchSettings) -> FastAPI:
    return create_service_app(settings, package=__package__, title="Punchcard Face Match")


def main() -> None:
    service_main(FaceMatchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
