"""dockml: serve scikit-learn and ONNX models as fast, documented, safe web services."""

import os
from typing import Any

# ONNX Runtime's official builds (1.29 and later) record a device id under $HOME and send usage
# events to Microsoft from every process that creates a session, and warn at each container start
# where the home folder is not writable. A model server must not phone home: dockml turns that
# off before any session exists, unless the variable is already set.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    # The client is loaded on first use, so `import dockml` (and the server) stays light.
    if name in ("Client", "AsyncClient"):
        from dockml import client

        return getattr(client, name)
    raise AttributeError(f"module 'dockml' has no attribute {name!r}")
