"""Entry point: ``punchcard-face-match`` loads the face models (in its worker processes), builds
its galleries from the compacted templates topic and follows it, answers kiosk face attempts
(consumer group ``face-match``), keeps its projections of workers and clock assignments, and
serves the enrolment API; ``punchcard-face-match migrate`` only migrates the database."""

from __future__ import annotations

import os

from fastapi import FastAPI
from punchcard_kit.service import Runtime, create_service_app, service_main
from starlette.formparsers import MultiPartParser

from .adapters.models import require_runtime
from .bootstrap import FaceMatchContainer, bootstrap
from .entrypoints import api, consumers
from .settings import FaceMatchSettings


def build_app(settings: FaceMatchSettings) -> FastAPI:
    """The app; ``on_started`` builds the container (``app.state.face_match``) on the kit's
    pool, loads the models and starts the gallery follower; the consumers, built after it,
    hand their frames to its identifier."""
    if settings.deepface_home:
        os.environ["DEEPFACE_HOME"] = settings.deepface_home
    # At once, before any connection: the configured model and detector must be able to run
    # in this installation (TensorFlow and DeepFace only where they need them; MissingRuntime
    # says what to install, UnknownModel lists the models).
    require_runtime(settings.face_model, settings.face_detector)

    async def on_started(runtime: Runtime) -> None:
        container = bootstrap(settings, pool=runtime.pool)
        # MissingWeights stops the service here, naming the file.
        await runtime.enter(container.engine)
        runtime.supervise("face-gallery", container.gallery.run)
        runtime.ready_loops["face_gallery"] = container.gallery
        runtime.every(
            "evidence retention",
            settings.evidence_sweep_interval_s,
            container.evidence_photos.sweep_once,
        )
        app.state.face_match = container

    def subscriptions(runtime: Runtime):
        container: FaceMatchContainer = app.state.face_match
        return consumers.subscriptions(container.identifier, container.uow_on, container.evidence)

    def on_stopping(runtime: Runtime) -> None:
        app.state.face_match.gallery.stop()

    max_upload = api.upload_limit(settings.enrol_max_photo_bytes)
    # An upload is held in memory (bounded by its body limit), never spooled to a small /tmp:
    # its photos are read whole to be decoded anyway.
    MultiPartParser.spool_max_size = max_upload
    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Face Match",
        routers=[api.router, api.upload_router(max_upload)],
        on_started=on_started,
        subscriptions=subscriptions,
        on_stopping=on_stopping,
        pool_max_size=settings.db_pool_max_size,
    )
    return app


def main() -> None:
    service_main(FaceMatchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
