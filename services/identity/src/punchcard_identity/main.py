"""Entry point: ``punchcard-identity`` serves the internal API and verifies kiosk PIN attempts;
``punchcard-identity migrate`` only migrates the database (a deploy job)."""

from fastapi import FastAPI
from punchcard_kit.service import Runtime, create_service_app, service_main

from .adapters.lockout import REDIS_TRANSIENT
from .bootstrap import IdentityContainer, bootstrap, build_hasher, time_one_hash
from .entrypoints import consumers
from .entrypoints.api import router
from .settings import IdentitySettings

__all__ = ["build_app", "build_hasher", "main", "time_one_hash"]


def build_app(settings: IdentitySettings) -> FastAPI:
    """The app on the kit's lifespan: ``on_started`` builds the container (bootstrap.py) on the
    kit's pool and opens its Redis client on the runtime (closed at shutdown, pinged by
    /readyz); the consumers, built after it, hand their messages to its use cases."""

    async def on_started(runtime: Runtime) -> None:
        container = bootstrap(settings, pool=runtime.pool)
        if container.redis is not None:
            redis = await runtime.enter(container.redis)  # closed when the service stops
            runtime.ready_checks["redis"] = redis.ping
        app.state.identity = container

    def subscriptions(runtime: Runtime):
        container: IdentityContainer = app.state.identity
        return consumers.subscriptions(settings, container)

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Identity",
        routers=[router],
        on_started=on_started,
        subscriptions=subscriptions,
        transient=REDIS_TRANSIENT,
    )
    return app


def main() -> None:
    service_main(IdentitySettings, build_app, __package__)


if __name__ == "__main__":
    main()
