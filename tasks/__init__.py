"""Stage logic: plain, typed functions over records, testable without Prefect."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsmill")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
