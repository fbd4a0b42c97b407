"""punch's composition root: ``bootstrap(settings, pool, **overrides)`` builds what the routes,
the consumers and the unparker use (``PunchContainer``); tests hand in fakes as overrides.
``main.py`` calls it from the kit's ``on_started`` once the pool is open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from .adapters.parked import PostgresParkedVerdicts
from .adapters.postgres import PunchUnitOfWork, unit_of_work_factory
from .domain.decisions import Policy
from .entrypoints.consumers import VERDICTS_GROUP
from .service_layer.ingest import Ingest
from .service_layer.parking import Unparker
from .service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory
from .settings import PunchSettings
from .views import LedgerViews


def policy_from(settings: PunchSettings) -> Policy:
    return Policy(
        double_tap_window=timedelta(seconds=settings.double_tap_window_s),
        clock_skew=timedelta(seconds=settings.clock_skew_s),
        online_max_age=timedelta(seconds=settings.online_max_age_s),
        max_offline_age=timedelta(hours=settings.max_offline_age_h),
        offline_review_age=timedelta(hours=settings.offline_review_age_h),
        toggle_reset=timedelta(hours=settings.toggle_reset_h),
    )


def build_ingest(settings: PunchSettings, **overrides: Any) -> Ingest:
    """The verdicts' use case (``overrides``: e.g. ``punches_topic`` for a bench's topic)."""
    return Ingest(
        overrides.pop("policy", None) or policy_from(settings),
        park_after=timedelta(seconds=settings.park_after_s),
        evidence_wait=timedelta(seconds=settings.evidence_wait_s),
        **overrides,
    )


@dataclass(frozen=True)
class PunchContainer:
    settings: PunchSettings
    # The verdicts' use case (decides a tenant's verdicts in a unit of work).
    ingest: Ingest
    # A unit of work per HTTP request (its own transaction, on the pool).
    uow: UnitOfWorkFactory
    # A tenant's unit of work inside a consumer's batch transaction.
    on_connection: Callable[[asyncpg.Connection, str], UnitOfWork]
    # The read side (listing, timesheets, reports, attempts' outcomes).
    views: LedgerViews
    # Decides parked verdicts once their worker and clock are known (``runtime.every``).
    unparker: Unparker


def bootstrap(settings: PunchSettings, pool: asyncpg.Pool, **overrides: Any) -> PunchContainer:
    ingest = overrides.pop("ingest", None) or build_ingest(settings)
    uow = overrides.pop("uow", None) or unit_of_work_factory(pool)
    on_connection = overrides.pop("on_connection", None) or PunchUnitOfWork.on_connection
    views = overrides.pop("views", None) or LedgerViews(
        unit_of_work_factory(pool),
        max_shift=timedelta(hours=settings.max_shift_h),
        toggle_reset=timedelta(hours=settings.toggle_reset_h),
    )
    unparker = overrides.pop("unparker", None) or Unparker(
        PostgresParkedVerdicts(pool, on_connection),
        ingest,
        group_id=VERDICTS_GROUP + settings.consumer_group_suffix,
        max_age=timedelta(hours=settings.parked_max_age_h),
    )
    if overrides:
        raise TypeError(f"unknown overrides: {sorted(overrides)}")
    return PunchContainer(
        settings=settings,
        ingest=ingest,
        uow=uow,
        on_connection=on_connection,
        views=views,
        unparker=unparker,
    )
