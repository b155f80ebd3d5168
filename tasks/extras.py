"""Optional parts of newsmill, installed as extras: a missing one is named in one line."""

import importlib
from types import ModuleType

from newsmill.tasks.errors import MissingExtraError

# module to import -> the extra that installs it
EXTRAS = {
    "prefect_dask": "dask",
    "prefect_ray": "ray",
    "s3fs": "s3",
    "spacy": "spacy",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import `module`, or fail with the one line that says which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        extra = EXTRAS[module]
        raise MissingExtraError(
            f"{purpose} needs the {extra!r} extra: pip install 'newsmill[{extra}]'"
        ) from error
