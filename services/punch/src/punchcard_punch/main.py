"""Entry point: ``punchcard-punch`` decides kiosk attempts into the ledger (consumer of the
identification verdicts), keeps its projections of workers, clocks and assignments, and serves
the ledger's internal API; ``punchcard-punch migrate`` only migrates the database."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from punchcard_kit.retry import register_transient
from punchcard_kit.service import Runtime, Subscription, create_service_app, service_main

from .domain.decisions import Policy
from .entrypoints.api import build_router
from .service_layer import projection
from .service_layer.admin import LedgerAdmin
from .service_layer.ingest import VERDICTS_TOPIC, Ingest, NotYetKnown
from .service_layer.parking import Unparker
from .settings import PunchSettings

VERDICTS_GROUP = "punch"


def policy_from(settings: PunchSettings) -> Policy:
    return Policy(
        double_tap_window=timedelta(seconds=settings.double_tap_window_s),
        clock_skew=timedelta(seconds=settings.clock_skew_s),
        online_max_age=timedelta(seconds=settings.online_max_age_s),
        max_offline_age=timedelta(hours=settings.max_offline_age_h),
        offline_review_age=timedelta(hours=settings.offline_review_age_h),
        toggle_reset=timedelta(hours=settings.toggle_reset_h),
    )


def build_app(settings: PunchSettings) -> FastAPI:
    """The composition root: adapters are built here, connections opened in the lifespan."""
    # A verdict for a worker or clock whose event has not reached punch yet waits (with
    # backoff, like a server that is down) until it is PARK_AFTER_S old, then it is parked.
    register_transient(NotYetKnown)
    ingest = Ingest(policy_from(settings), park_after=timedelta(seconds=settings.park_after_s))

    def subscriptions(runtime: Runtime):
        return [
            Subscription("punch.projections", projection.TOPICS, projection.handle),
            Subscription(VERDICTS_GROUP, [VERDICTS_TOPIC], ingest.handle),
        ]

    async def on_started(runtime: Runtime) -> None:
        app.state.ledger_admin = LedgerAdmin(
            runtime.pool, max_shift=timedelta(hours=settings.max_shift_h)
        )
        unparker = Unparker(
            runtime.pool,
            ingest,
            group_id=VERDICTS_GROUP + settings.consumer_group_suffix,
            max_age=timedelta(hours=settings.parked_max_age_h),
        )
        runtime.every("unpark verdicts", settings.unpark_interval_s, unparker.run_once)

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Punch",
        routers=[build_router()],
        subscriptions=subscriptions,
        on_started=on_started,
        pool_max_size=settings.db_pool_max_size,
    )
    return app


def main() -> None:
    service_main(PunchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
