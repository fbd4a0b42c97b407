"""Every replica's galleries, kept in step with the compacted templates topic.

Each replica follows ``punchcard.face.templates.v1`` without a consumer group (the kit's
``TopicFollower``): at start it reads the topic from the beginning, which after compaction is
the latest template set of every enrolled worker, then follows it live, so an enrolment made
through any replica is searchable on every replica as soon as its event arrives (the outbox
relay publishes within its poll interval). ``ready`` is set once the records present at start
are in memory: before that a replica answers no attempt (it would miss enrolled workers).

A tombstone (a worker's biometrics deleted, or the worker deactivated) drops the worker from
every gallery of its tenant. A set of another model than this replica's is not searchable
here (a gallery never mixes models) and is skipped with a warning.
"""

from __future__ import annotations

import asyncio

import numpy as np
from punchcard.v1 import face_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.follower import TopicFollower

from ..domain.gallery import Galleries
from .events import TEMPLATES_TOPIC

log = get_logger(__name__)


class GallerySync:
    def __init__(self, galleries: Galleries, model_name: str, bootstrap_servers: str) -> None:
        self.galleries = galleries
        self.model_name = model_name
        self.follower = TopicFollower(
            topics=[TEMPLATES_TOPIC],
            handler=self.apply,
            bootstrap_servers=bootstrap_servers,
            name="face-gallery",
            from_beginning=True,
        )
        self._other_models: set[str] = set()

    @property
    def ready(self) -> asyncio.Event:
        return self.follower.caught_up

    @property
    def healthy(self) -> bool:
        return self.follower.healthy and self.follower.caught_up.is_set()

    async def apply(self, message: Message) -> None:
        if message.key is None:
            return
        tenant_id, _, worker_id = message.key.decode().partition("/")
        if message.is_tombstone:
            self.galleries.remove_worker(tenant_id, worker_id)
            return
        if message.type != face_pb2.FaceTemplateSet.DESCRIPTOR.full_name:
            return
        found: face_pb2.FaceTemplateSet = message.payload
        if found.model_name != self.model_name:
            if found.model_name not in self._other_models:
                self._other_models.add(found.model_name)
                log.warning(
                    "templates of another model are not searchable by this replica",
                    model=found.model_name,
                    replica_model=self.model_name,
                )
            # The worker's templates of this replica's model (if any) are now stale.
            self.galleries.remove_worker(tenant_id, worker_id)
            return
        dims = found.embedding_dims
        matrix = np.stack(
            [np.frombuffer(t.embedding, dtype="<f4") for t in found.templates]
        ).astype(np.float32)
        if matrix.shape[1] != dims:
            log.error("template set with inconsistent dimensions skipped", worker_id=worker_id)
            return
        gallery = self.galleries.for_tenant(tenant_id, found.model_name, dims)
        gallery.upsert(worker_id, matrix, found.revision)

    async def run(self) -> None:
        await self.follower.run()

    def stop(self) -> None:
        self.follower.stop()
