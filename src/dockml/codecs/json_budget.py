"""How many values a JSON body may hold, checked before it is parsed.

A parser makes a Python object of every value: 16 MiB of `[{},{},...]` is 5.6 million dicts,
half a gigabyte and seconds of work before anything can be refused. Commas, quotes and brackets
bound the number of values from above, and counting them is a few milliseconds of C over the
bytes. The bound overcounts only by such characters inside strings.
"""

from __future__ import annotations

from dockml.errors import PayloadTooLarge
from dockml.signature import Signature

VALUES_PER_REQUEST = 500_000
"""About 30 MB of parsed objects, and under 100 ms of parsing, which holds the GIL (a worker's
health checks wait for it). Wide models get more: VALUES_PER_FEATURE for each feature."""
VALUES_PER_FEATURE = 5_000


def value_budget(signature: Signature | None) -> int:
    features = len(signature.features) if signature is not None else 0
    return max(VALUES_PER_REQUEST, VALUES_PER_FEATURE * features)


def check_json_values(body: bytes, budget: int, advice: str) -> None:
    """PayloadTooLarge if ``body`` may hold more than ``budget`` JSON values."""
    if len(body) < 2 * budget:  # every value but the last takes a byte and a separator
        return
    bound = body.count(b",") + body.count(b'"') // 2 + body.count(b"[") + body.count(b"{") + 1
    if bound > budget:
        raise PayloadTooLarge(f"the JSON body may hold more than {budget:,} values; {advice}")
