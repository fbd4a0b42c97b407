"""Entry point: ``punchcard-face-match`` loads the face models (in its worker processes), builds
its galleries from the compacted templates topic and follows it, answers kiosk face attempts
(consumer group ``face-match``), keeps its projections of workers and clock assignments, and
serves the enrolment API; ``punchcard-face-match migrate`` only migrates the database."""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI
from punchcard_kit.service import Runtime, Subscription, create_service_app, service_main
from starlette.formparsers import MultiPartParser

from .adapters.engine import FaceEngine
from .domain.decision import MatchPolicy, threshold_for
from .domain.gallery import Galleries
from .domain.quality import QualityPolicy
from .entrypoints.api import build_router, upload_limit
from .service_layer import projection
from .service_layer.enrolment import Enrolment
from .service_layer.gallery_sync import GallerySync
from .service_layer.identification import ATTEMPTS_TOPIC, Identifier
from .settings import FaceMatchSettings


def build_app(settings: FaceMatchSettings) -> FastAPI:
    """The composition root: adapters are built here; models load and connections open in the
    lifespan."""
    if settings.deepface_home:
        os.environ["DEEPFACE_HOME"] = settings.deepface_home
    policy = MatchPolicy(
        threshold=threshold_for(settings.face_model, settings.match_threshold),
        margin=settings.match_margin,
    )
    engine = FaceEngine(
        model_name=settings.face_model,
        detector=settings.face_detector,
        detect_max_side=settings.detect_max_side,
        detect_min_score=settings.detect_min_score,
        workers=settings.face_workers,
        deepface_home=settings.deepface_home,
    )
    galleries = Galleries(index_threshold=settings.index_threshold)
    sync = GallerySync(galleries, settings.face_model, settings.kafka_bootstrap_servers)
    identifier = Identifier(engine, galleries, policy, sync.ready)
    tasks: list[asyncio.Task] = []

    def subscriptions(runtime: Runtime):
        return [
            Subscription("face-match.projections", projection.TOPICS, projection.handle),
            # Face frames are biometric: a dead-lettered attempt is kept 7 days (1-day segments,
            # so gone within 8), time for someone to redrive it; docs/events.md argues it.
            Subscription(
                "face-match",
                [ATTEMPTS_TOPIC],
                identifier.handle,
                dlq_config={"retention.ms": "604800000", "segment.ms": "86400000"},
            ),
        ]

    async def on_started(runtime: Runtime) -> None:
        await engine.start()  # MissingWeights stops the service here, naming the file
        tasks.append(asyncio.create_task(sync.run(), name="face-gallery"))
        app.state.ready_loops["face_gallery"] = sync
        app.state.enrolment = Enrolment(
            runtime.pool,
            engine,
            policy=QualityPolicy(
                min_face_px=settings.enrol_min_face_px,
                min_sharpness=settings.enrol_min_sharpness,
                min_brightness=settings.enrol_min_brightness,
                max_brightness=settings.enrol_max_brightness,
                max_pixels=settings.enrol_max_pixels,
            ),
            threshold=policy.threshold,
            max_photo_bytes=settings.enrol_max_photo_bytes,
            galleries=galleries,
        )
        app.state.galleries = galleries

    async def on_stopped(runtime: Runtime) -> None:
        sync.stop()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        engine.close()

    max_upload = upload_limit(settings.enrol_max_photo_bytes)
    # An upload is held in memory (bounded by its body limit), never spooled to a small /tmp:
    # its photos are read whole to be decoded anyway.
    MultiPartParser.spool_max_size = max_upload
    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Face Match",
        routers=[build_router(max_upload)],
        subscriptions=subscriptions,
        on_started=on_started,
        on_stopped=on_stopped,
        pool_max_size=settings.db_pool_max_size,
    )
    app.state.ready_loops = {}
    return app


def main() -> None:
    service_main(FaceMatchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
