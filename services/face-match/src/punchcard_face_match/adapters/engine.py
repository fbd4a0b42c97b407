"""Runs the face pipeline off the event loop.

dlib holds the GIL while it computes, so a model call in a thread would stall the replica's
event loop (HTTP, Kafka heartbeats, the gallery follower) for the length of the call. The
engine keeps ``workers`` processes instead (spawned, never forked from a process with open
sockets), each loading the models once; the event loop only sends JPEG bytes and receives
embeddings. A micro-batch is split across the workers, and each worker embeds its share in one
model call (on a GPU node, one TensorFlow batch). ``workers=0`` runs in a thread of this process
(tests of the pipeline, small tools).

A worker that dies (killed, out of memory, or a frame that crashes the native code) breaks the
pool: the engine rebuilds it and the call raises ``EngineRestarted``. That is not a "server is
down" error: the consumer replays the batch one attempt at a time, so the other frames of the
batch succeed, and a frame that kills the worker every time goes to the dead-letter topic after
``CONSUMER_MAX_ATTEMPTS`` tries instead of blocking its partition for ever.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from punchcard_kit.failpoints import failpoint
from punchcard_kit.logging import get_logger

from ..domain.decision import embedding_model
from ..service_layer.unit_of_work import EngineRestarted
from .pipeline import Face, FacePipeline, frame_flags

log = get_logger(__name__)

_pipeline: FacePipeline | None = None

__all__ = ["EngineRestarted", "FaceEngine"]


def _init(
    model_name: str,
    detector: str,
    detect_max_side: int,
    detect_min_score: float,
    home: str | None,
) -> None:
    global _pipeline
    _exit_with_parent()
    if home:
        os.environ["DEEPFACE_HOME"] = home
    # One model call per worker at a time: keep each worker's math libraries to one thread
    # unless the operator says otherwise (a GPU node sets its own).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # TensorFlow's own pools too (DlibKeras, DeepFace's models): one worker per core.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    _pipeline = FacePipeline(model_name, detector, detect_max_side, detect_min_score)


def _exit_with_parent() -> None:
    """A worker whose service process died (SIGKILL, OOM) exits too instead of lingering with
    the models in memory: it notices that it was re-parented."""
    if multiprocessing.parent_process() is None:  # workers=0: a thread of the service itself
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _analyse(frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
    assert _pipeline is not None, "worker not initialised"
    for frame in frames:
        failpoint("face.worker.analyse", frame)  # tests: a frame that kills the worker
    return _pipeline.analyse(frames, aligned)


def _describe() -> tuple[str, int]:
    """The model the embeddings are of (DlibKeras computes Dlib's) and their size."""
    assert _pipeline is not None
    return embedding_model(_pipeline.model_name), _pipeline.dims


class FaceEngine:
    """The service layer's ``FaceAnalyser``. ``async with engine:`` starts it and closes it."""

    def __init__(
        self,
        *,
        model_name: str,
        detector: str,
        detect_max_side: int,
        workers: int,
        detect_min_score: float = 0.25,
        deepface_home: str | None = None,
    ) -> None:
        # The model the embeddings are of (templates and galleries are kept under it).
        self.model_name = embedding_model(model_name)
        self.detector = detector
        self.workers = workers
        self._initargs = (model_name, detector, detect_max_side, detect_min_score, deepface_home)
        self._executor: Executor | None = None
        self.dims = 0

    def _new_executor(self) -> Executor:
        if self.workers == 0:
            return ThreadPoolExecutor(1, initializer=_init, initargs=self._initargs)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=self._initargs,
        )

    async def start(self) -> None:
        """Start the workers and load the models in each; raises MissingWeights at once."""
        self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        # One call per worker makes each of them load the models now, not on the first punch.
        results = await asyncio.gather(
            *(loop.run_in_executor(self._executor, _describe) for _ in range(max(1, self.workers)))
        )
        self.model_name, self.dims = results[0]
        log.info(
            "face models loaded",
            model=self._initargs[0],
            embeddings=self.model_name,
            detector=self.detector,
            dims=self.dims,
            workers=self.workers,
        )

    async def analyse(self, frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
        """Every frame analysed; the frames are shared among the workers. ``aligned[i]``:
        frame i is a kiosk's aligned face chip (none given: all are camera frames)."""
        if not frames:
            return []
        assert self._executor is not None, "engine not started"
        flags = frame_flags(frames, aligned)
        loop = asyncio.get_running_loop()
        parts = max(1, min(self.workers, len(frames)))
        size = -(-len(frames) // parts)
        chunks = [
            (list(frames[i : i + size]), flags[i : i + size]) for i in range(0, len(frames), size)
        ]
        try:
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(self._executor, _analyse, chunk, chunk_flags)
                    for chunk, chunk_flags in chunks
                )
            )
        except BrokenProcessPool as error:
            log.warning("a face model worker died; restarting the workers", error=str(error))
            broken, self._executor = self._executor, self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)
            raise EngineRestarted("a face model worker died; the workers were restarted") from error
        return [face for chunk in results for face in chunk]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> FaceEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
