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
    """The app on the kit's lifespan. The container is built when the kit asks for the
    subscriptions (its consumers' handlers need it; the kit builds them before ``on_started``);
    ``on_started`` then opens its Redis client on the runtime (closed at shutdown, pinged by
    /readyz)."""

    def subscriptions(runtime: Runtime):
        container = bootstrap(settings, pool=runtime.pool)
        app.state.identity = container
        return consumers.subscriptions(settings, container)

    async def on_started(runtime: Runtime) -> None:
        container: IdentityContainer = app.state.identity
        if container.redis is not None:
            redis = await runtime.enter(container.redis)  # closed when the service stops
            runtime.ready_checks["redis"] = redis.ping

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Identity",
        routers=[router],
        subscriptions=subscriptions,
        on_started=on_started,
        transient=REDIS_TRANSIENT,
    )
    return app


def main() -> None:
    service_main(IdentitySettings, build_app, __package__)


if __name__ == "__main__":
    main()
