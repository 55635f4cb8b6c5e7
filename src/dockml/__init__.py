"""dockml: serve scikit-learn and ONNX models as fast, documented, safe web services."""

__version__ = "0.1.0"

__all__ = ["__version__"]
