"""Running the app on uvicorn (uvloop + httptools), in one process or in several.

Several workers are forked from the process that loaded the models, so the models' memory is
shared copy-on-write. Each worker gets its own listening socket on the same port with
SO_REUSEPORT: the kernel then spreads connections across workers, instead of letting one
worker's accept loop take most keep-alive connections from a single shared socket.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import logging
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import uvicorn

from dockml.config import Settings
from dockml.connections import ConnectionLimits, guarded_protocol
from dockml.errors import ConfigError
from dockml.service import Registry

if TYPE_CHECKING:
    from dockml.http.lane import PredictLane

log = logging.getLogger("dockml.server")


def bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        taken = error.errno == errno.EADDRINUSE
        advice = " (is another server running there? stop it, or choose another --port)" if taken else ""
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}{advice}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: Any, settings: Settings, lane: PredictLane | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop",
        http=guarded_protocol(
            ConnectionLimits(
                head_timeout_s=settings.head_timeout_s,
                keep_alive_timeout_s=settings.keep_alive_timeout_s,
                max_connections=settings.max_connections,
                max_headers=settings.max_headers,
                max_header_bytes=settings.max_header_bytes,
                take_turns_above=settings.take_turns_above,
                max_turn_wait_s=settings.max_turn_wait_ms / 1000,
            ),
            lane,
        ),
        log_level=settings.log_level,
        lifespan="on",
        ws="none",  # no WebSocket route: uvicorn would otherwise import a websockets library per worker
        server_header=False,
        access_log=False,  # dockml writes its own, with the request id (--access-log)
        # uvicorn annotates int, but hands the value to asyncio.wait_for, which takes fractions of a second.
        timeout_graceful_shutdown=max(0.1, settings.shutdown_grace_s - settings.shutdown_drain_s),  # type: ignore[arg-type]
    )


SAME_SHUTDOWN_S = 0.5
"""A second signal sooner than this after the first is the same request to stop, not a demand to hurry."""


class DrainingServer(uvicorn.Server):
    """uvicorn, with the shutdown a rolling update needs. On the first SIGTERM or SIGINT,
    /health/ready turns 503 at once (/health/live stays 200); the server keeps serving for
    ``drain_s`` so load balancers can stop sending, then stops accepting and lets requests in
    progress (and those queued in the batcher) finish, within the grace period. A second
    signal exits at once."""

    def __init__(self, config: uvicorn.Config, registry: Registry, drain_s: float) -> None:
        super().__init__(config)
        self.registry = registry
        self.drain_s = drain_s
        self.drain_until: float | None = None
        self.first_signal_at = 0.0

    def handle_exit(self, sig: int, frame: Any) -> None:
        now = time.monotonic()
        if self.drain_until is None:
            self.registry.draining = True
            self.first_signal_at = now
            self.drain_until = now + self.drain_s
            log.info("signal %d: draining for %.1f s, then finishing requests in progress", sig, self.drain_s)
            self.should_exit = self.drain_s <= 0
        elif now - self.first_signal_at > SAME_SHUTDOWN_S:
            self.should_exit = self.force_exit = True
        # Else the same shutdown, told twice: Ctrl-C reaches every process of the group, and the
        # supervisor passes its own signal on. Forcing would cancel the app mid-lifespan (a traceback).

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def _serve(registry: Registry, settings: Settings, sock: socket.socket) -> None:
    from dockml.http.app import create_app_and_lane

    registry.use_threads()
    app, lane = create_app_and_lane(registry, settings)
    config = _uvicorn_config(app, settings, lane)
    DrainingServer(config, registry, settings.shutdown_drain_s).run(sockets=[sock])


def listen(settings: Settings) -> list[socket.socket]:
    """The listening sockets: one, or one per worker sharing the port (SO_REUSEPORT). The port must
    be free first: SO_REUSEPORT would otherwise let a second server join another's port silently,
    and clients would get answers from whichever model the kernel picked."""
    if settings.workers == 1:
        return [bind(settings.host, settings.port, reuse_port=False)]
    bind(settings.host, settings.port, reuse_port=False).close()  # fails if anything listens there
    return [bind(settings.host, settings.port, reuse_port=True) for _ in range(settings.workers)]


def return_large_buffers_to_the_system() -> None:
    """Make glibc hand every allocation over 128 KiB back to the system when it is freed.

    By default glibc raises that threshold each time such a block is freed, after which large
    request bodies and their arrays come from the heap and stay there: +60 MB per worker after a
    few 4 MB requests, still growing, against +37 MB levelling off with the threshold fixed. The
    price is a fresh mapping per large allocation, small beside the work a large body brings."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc only; others keep their own policy
    if mallopt is not None:
        m_mmap_threshold = -3
        mallopt(m_mmap_threshold, 128 * 1024)


def run(settings: Settings, registry: Registry, sockets: list[socket.socket]) -> None:
    """Serve on ``sockets`` (from listen) until SIGTERM or SIGINT."""
    return_large_buffers_to_the_system()  # before the fork, so every worker has it
    if len(sockets) == 1:
        try:
            _serve(registry, settings, sockets[0])
        finally:
            sockets[0].close()
        return
    Supervisor(registry, settings, sockets).run()


class Supervisor:
    """Forks one worker per socket, restarts any that dies, and passes shutdown signals on."""

    def __init__(self, registry: Registry, settings: Settings, sockets: list[socket.socket]) -> None:
        self.registry = registry
        self.settings = settings
        self.sockets = sockets
        self.children: dict[int, int] = {}  # pid -> socket index
        self.stopping = False

    def _fork(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                for other, sock in enumerate(self.sockets):
                    if other != index:
                        sock.close()
                _serve(self.registry, self.settings, self.sockets[index])
            except BaseException:  # a worker must never return into the supervisor's code
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = index

    def _stop(self, signum: int, frame: object) -> None:
        # The first signal starts each worker's graceful shutdown; a second makes them exit at once.
        if not self.stopping:
            # No worker is started again from here on, so the supervisor's copies of the sockets
            # close now: the workers' own copies keep them listening until their drain ends, and
            # then nothing is left for the kernel to queue connections on that nobody accepts.
            self._close_sockets()
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        # Everything loaded so far (the models above all) out of the collector's view before the
        # fork, as CPython's gc.freeze advises: no worker's collection touches those objects, so
        # their pages stay shared (iris, two workers: 10 MB private memory each instead of 19)
        # and each worker starts ~25 ms sooner.
        gc.collect()
        gc.freeze()
        for index in range(len(self.sockets)):
            self._fork(index)
        log.info("started %d workers: %s", len(self.children), ", ".join(map(str, self.children)))
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            self._mark_dead(pid)
            if not self.stopping:
                log.warning("worker %d exited (status %d); starting another", pid, status)
                time.sleep(0.5)  # a worker that dies at once must not spin the CPU
                self._fork(slot)
        self._close_sockets()

    @staticmethod
    def _mark_dead(pid: int) -> None:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid)
