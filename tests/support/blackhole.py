"""A TCP proxy in front of a real server that can go silent: until ``silence()`` it forwards
bytes both ways; after it, it still accepts connections but answers nothing and forwards
nothing (a blackholed server: the network path or the server hangs, no connection is refused).
``restore()`` makes new connections forward again."""

from __future__ import annotations

import asyncio
import contextlib


class SilentableProxy:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.silent = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    def silence(self) -> None:
        self.silent = True

    def restore(self) -> None:
        self.silent = False

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.silent:
                while await reader.read(65536):  # swallowed
                    pass
                return
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.silent:  # silent: what was sent is lost, nothing comes back
                    writer.write(data)
                    await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
