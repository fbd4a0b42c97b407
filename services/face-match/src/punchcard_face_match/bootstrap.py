"""face-match's composition root: ``bootstrap`` builds every adapter and use case and hands back
one typed container (``app.state.face_match``). Building opens nothing: main.py's
``on_started`` starts the engine's model workers (``runtime.enter``) and the follower of the
templates topic (``runtime.supervise``). Unit tests pass fakes as overrides."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from .adapters import images
from .adapters.engine import FaceEngine
from .adapters.evidence_cipher import EvidenceCipher
from .adapters.repository import (
    PostgresUnitOfWork,
    sweep_expired_evidence,
    unit_of_work_factory,
)
from .domain.calibration import FmrModel, fmr_model_for
from .domain.decision import MatchPolicy, embedding_model, threshold_for
from .domain.gallery import Galleries
from .domain.quality import QualityPolicy
from .entrypoints.consumers import GalleryFollower
from .service_layer.enrolment import Enrolment
from .service_layer.evidence import EvidenceChecker, EvidencePhotos
from .service_layer.gallery_sync import GallerySync
from .service_layer.identification import Identifier
from .service_layer.unit_of_work import (
    ConnectionUnitOfWork,
    FaceAnalyser,
    ImageSize,
    PhotoCipher,
    UnitOfWorkFactory,
)
from .settings import FaceMatchSettings
from .views import FaceViews


@dataclass(frozen=True)
class FaceMatchContainer:
    """Everything the routes, the consumers and the replica's own loop use."""

    # The face pipeline in its worker processes (opened by on_started).
    engine: FaceAnalyser
    # This replica's in-memory galleries, one per (tenant, model).
    galleries: Galleries
    policy: MatchPolicy
    # The model of false matches a 1:N threshold is derived from (None: the recognition model
    # has no calibration; its fixed threshold is used).
    fmr_model: FmrModel | None
    # Follows the compacted templates topic into the galleries (supervised by on_started).
    gallery: GalleryFollower
    # Kiosk face attempts (consumer group face-match).
    identifier: Identifier
    # Enrolment, deletion, settings (the API's writes) and the read side.
    enrolment: Enrolment
    views: FaceViews
    # Evidence photos of punches: kept and checked 1:1 (consumer group face-match.evidence),
    # read and deleted (the API), swept on schedule.
    evidence: EvidenceChecker
    evidence_photos: EvidencePhotos
    # A unit of work inside a consumer's batch transaction.
    uow_on: ConnectionUnitOfWork


def face_engine(settings: FaceMatchSettings) -> FaceEngine:
    return FaceEngine(
        model_name=settings.face_model,
        detector=settings.face_detector,
        detect_max_side=settings.detect_max_side,
        detect_min_score=settings.detect_min_score,
        workers=settings.face_workers,
        deepface_home=settings.deepface_home,
    )


def quality_policy(settings: FaceMatchSettings) -> QualityPolicy:
    return QualityPolicy(
        min_face_px=settings.enrol_min_face_px,
        min_sharpness=settings.enrol_min_sharpness,
        min_brightness=settings.enrol_min_brightness,
        max_brightness=settings.enrol_max_brightness,
        max_pixels=settings.enrol_max_pixels,
    )


def bootstrap(
    settings: FaceMatchSettings,
    *,
    pool: asyncpg.Pool | None = None,
    uow: UnitOfWorkFactory | None = None,
    uow_on: ConnectionUnitOfWork | None = None,
    engine: FaceAnalyser | None = None,
    galleries: Galleries | None = None,
    image_size: ImageSize | None = None,
    cipher: PhotoCipher | None = None,
) -> FaceMatchContainer:
    """``pool``: the kit's (HTTP requests open their units of work on it); or ``uow`` /
    ``uow_on`` given (fakes), with the other overrides."""
    if uow is None:
        if pool is None:
            raise TypeError("bootstrap needs the pool or a unit-of-work factory")
        uow = unit_of_work_factory(pool)
    assert settings.kafka_bootstrap_servers is not None
    policy = MatchPolicy(
        threshold=threshold_for(settings.face_model, settings.match_threshold),
        margin=settings.match_margin,
    )
    fmr_model = fmr_model_for(settings.face_model, policy.threshold)
    engine = engine or face_engine(settings)
    galleries = (
        galleries if galleries is not None else Galleries(index_threshold=settings.index_threshold)
    )
    gallery = GalleryFollower(
        GallerySync(galleries, embedding_model(settings.face_model)),
        settings.kafka_bootstrap_servers,
    )
    assert settings.evidence_photo_key is not None
    cipher = cipher or EvidenceCipher.from_base64(settings.evidence_photo_key.get_secret_value())
    identifier = Identifier(engine, galleries, policy, gallery.ready, fmr_model=fmr_model)
    evidence = EvidenceChecker(
        engine, galleries, cipher, policy, gallery.ready, fmr_model=fmr_model
    )

    async def keep_face_frame(uow, command, worker_id: str) -> None:
        context = command.attempt.context
        await evidence.keep_face_frame(
            uow,
            command.tenant_id,
            context.attempt_id,
            context.clock_id,
            command.attempt.frame_jpeg,
            worker_id,
        )

    identifier.keep_evidence = keep_face_frame

    async def sweep() -> int:
        return await sweep_expired_evidence(pool) if pool is not None else 0

    return FaceMatchContainer(
        engine=engine,
        galleries=galleries,
        policy=policy,
        fmr_model=fmr_model,
        gallery=gallery,
        identifier=identifier,
        enrolment=Enrolment(
            uow=uow,
            faces=engine,
            image_size=image_size or images.declared_size,
            policy=quality_policy(settings),
            threshold=policy.threshold,
            max_photo_bytes=settings.enrol_max_photo_bytes,
            galleries=galleries,
            worker_wait_s=settings.projection_wait_s,
        ),
        views=FaceViews(
            uow=uow,
            galleries=galleries,
            model_name=settings.face_model,
            policy=policy,
            fmr_model=fmr_model,
        ),
        evidence=evidence,
        evidence_photos=EvidencePhotos(uow=uow, cipher=cipher, sweep=sweep),
        uow_on=uow_on or PostgresUnitOfWork.on_connection,
    )
