"""Entry point: ``punchcard-device-sync`` serves HTTP and runs the outbox relay and consumers;
``punchcard-device-sync migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .settings import DeviceSyncSettings


def build_app(settings: DeviceSyncSettings) -> FastAPI:
    return create_service_app(settings, package=__package__, title="Punchcard Device Sync")


def main() -> None:
    service_main(DeviceSyncSettings, build_app, __package__)


if __name__ == "__main__":
    main()
