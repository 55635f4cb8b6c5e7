"""Decoding a large body off the event loop: parsing megabytes of JSON, CSV or an image takes
long enough to stall every other request of the worker (health checks included), so it runs in a
thread, where the interpreter still switches back to the loop every few milliseconds. Small
bodies, nearly all of them, are decoded in place: a thread hop would cost more than the work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

OFF_LOOP_BYTES = 1024 * 1024  # ~20 ms of JSON: below it a thread hop costs more than it saves
SLOW_FORMAT = 16
"""How much more a byte of CSV or of an image costs to decode than a byte of JSON (a Python call
per CSV cell; pixels): callers pass their body's size times this, so 0.8 MiB of CSV (~300 ms) is
not decoded on the loop."""

Params = ParamSpec("Params")
Result = TypeVar("Result")


async def decode_sized(
    size: int, decode: Callable[Params, Result], *args: Params.args, **kwargs: Params.kwargs
) -> Result:
    """``decode(*args, **kwargs)``, in a thread when ``size`` (in bytes of JSON, see SLOW_FORMAT)
    is ``OFF_LOOP_BYTES`` or more."""
    if size < OFF_LOOP_BYTES:
        return decode(*args, **kwargs)
    return await asyncio.to_thread(decode, *args, **kwargs)
