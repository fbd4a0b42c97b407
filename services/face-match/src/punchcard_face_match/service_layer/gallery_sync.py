"""Every replica's galleries, kept in step with the compacted templates topic.

Each replica follows ``punchcard.face.templates.v1`` without a consumer group (the kit's
``TopicFollower``, entrypoints.consumers): at start it reads the topic from the beginning,
which after compaction is the latest template set of every enrolled worker, then follows it
live, so an enrolment made through any replica is searchable on every replica as soon as its
event arrives (the outbox relay publishes within its poll interval). Until the records present
at start are in memory a replica answers no attempt (it would miss enrolled workers).

A tombstone (a worker's biometrics deleted, or the worker deactivated) drops the worker from
every gallery of its tenant. A set of another model than this replica's is not searchable
here (a gallery never mixes models) and is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from punchcard_kit.logging import get_logger

from ..domain.gallery import Galleries

log = get_logger(__name__)


@dataclass(frozen=True)
class TemplateSetChanged:
    """A record of the templates topic: the worker's latest set, or (``model_name`` None) a
    tombstone. ``embeddings``: each template's little-endian float32 bytes."""

    tenant_id: str
    worker_id: str
    model_name: str | None = None
    dims: int = 0
    revision: int = 0
    embeddings: Sequence[bytes] = ()
    verify_one_to_one: bool = False  # a confirmed lookalike's: identified 1:1 only


class GallerySync:
    def __init__(self, galleries: Galleries, model_name: str) -> None:
        self.galleries = galleries
        self.model_name = model_name
        self._other_models: set[str] = set()

    def apply(self, change: TemplateSetChanged) -> None:
        tenant_id, worker_id = change.tenant_id, change.worker_id
        if change.model_name is None:
            self.galleries.remove_worker(tenant_id, worker_id)
            return
        if change.model_name != self.model_name:
            if change.model_name not in self._other_models:
                self._other_models.add(change.model_name)
                log.warning(
                    "templates of another model are not searchable by this replica",
                    model=change.model_name,
                    replica_model=self.model_name,
                )
            # The worker's templates of this replica's model (if any) are now stale.
            self.galleries.remove_worker(tenant_id, worker_id)
            return
        dims = change.dims
        matrix = np.stack(
            [np.frombuffer(embedding, dtype="<f4") for embedding in change.embeddings]
        ).astype(np.float32)
        if matrix.shape[1] != dims:
            log.error("template set with inconsistent dimensions skipped", worker_id=worker_id)
            return
        gallery = self.galleries.for_tenant(tenant_id, change.model_name, dims)
        gallery.upsert(
            worker_id, matrix, change.revision, verify_one_to_one=change.verify_one_to_one
        )
