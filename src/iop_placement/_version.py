"""The installed distribution's version, which the package face exports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("iop-placement")
except PackageNotFoundError:  # pragma: no cover - running from a source tree, uninstalled
    __version__ = "0+unknown"
