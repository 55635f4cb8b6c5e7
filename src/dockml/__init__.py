"""dockml: serve scikit-learn and ONNX models as fast, documented, safe web services."""

from typing import Any

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The client is loaded on first use, so `import dockml` (and the server) stays light.
    if name in ("Client", "AsyncClient"):
        from dockml import client

        return getattr(client, name)
    raise AttributeError(f"module 'dockml' has no attribute {name!r}")
