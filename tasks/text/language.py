"""Language identification for a batch of texts at once, with py3langid's model and
exactly its answers (language and confidence, bit for bit).

py3langid walks a text's UTF-8 bytes through a DFA in a Python loop, one text at a time,
and scores the features it met with a float16 table: ~175 µs per 300-character sample,
most of the fields stage. The walk is sequential within a text but independent across
texts, so here it advances every text of the batch one byte per numpy step; the features'
counts come from one hash pass over the batch. The scores then use the same float32
operations in the same order as py3langid (features in order of first occurrence), so the
matrix products round the same way. `tests/tasks/text/test_language.py` holds it to
py3langid's own `classify` on texts of many scripts.

Reading the model takes ~0.6 s (LZMA, then casts), on the way of a small run's first
shard. So the arrays, once read, are kept in the user's cache folder, ~100 MB, and mapped
from there by every later process in ~0.01 s (its worker processes share the pages).
"""

import contextlib
import math
import os
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import py3langid
from py3langid.modelio import load_model

from newsmill.tasks.once import load_once

MODEL_PATH = Path(py3langid.__file__).parent / "data" / "model.npz.xz"
# Texts scored per gather of their features' rows: 64 texts of ~300 features, ~11 MB.
_SCORE_BLOCK = 64
_ARRAYS = ("feature_scores", "class_scores", "classes", "next_state", "row_base", "state_feature")
_CACHE_FORMAT = 1  # bumped when the cached arrays change in form


class LanguageModel:
    """py3langid's model (`LanguageIdentifier(..., norm_probs=True)`), batched."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._feature_scores = arrays["feature_scores"]  # (features, classes)
        self._class_scores = arrays["class_scores"]
        self._classes: list[str] = arrays["classes"].tolist()
        self._next_state = arrays["next_state"]
        self._row_base = arrays["row_base"]
        self._state_feature = arrays["state_feature"]
        self._alias_pairs = _alias_pairs(self._classes)

    @classmethod
    def from_model_file(cls, path: Path = MODEL_PATH) -> "LanguageModel":
        return cls(_arrays_of(path))

    @classmethod
    def cached(cls, cache: Path, path: Path = MODEL_PATH) -> "LanguageModel":
        """The model from its arrays under `cache`, memory-mapped; read from the model file
        and written there the first time (and whenever they are damaged or cannot be
        written: then they are only read)."""
        folder = cache / f"py3langid-{version('py3langid')}-{_identity(path)}-v{_CACHE_FORMAT}"
        with contextlib.suppress(OSError, ValueError):
            return cls({name: _mapped(folder / f"{name}.npy") for name in _ARRAYS})
        arrays = _arrays_of(path)
        _save(arrays, folder)
        return cls(arrays)

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(language, confidence) for each text, as py3langid's `classify` gives them."""
        encoded = [_encode(text) for text in texts]
        counted = self._feature_counts(encoded)
        results: list[tuple[str, float]] = []
        for start in range(0, len(encoded), _SCORE_BLOCK):
            stop = min(start + _SCORE_BLOCK, len(encoded))
            results.extend(self._decide_block(encoded[start:stop], counted[start:stop]))
        return results

    def _feature_counts(self, encoded: list[bytes]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, the features its walk met (in order of first meeting) and how often."""
        n = len(encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        if n == 0 or lengths.max() == 0:
            return [_NO_FEATURES] * n
        # longest first: the texts still walking at a byte are a prefix of the batch
        order = np.argsort(-lengths, kind="stable")
        byte_matrix, walking = _byte_matrix([encoded[i] for i in order], lengths[order])
        features = np.full(byte_matrix.shape, -1, dtype=np.int32)
        state = np.zeros(n, dtype=np.int64)
        for position, count in enumerate(walking):
            moved = self._next_state[self._row_base[state[:count]] + byte_matrix[position, :count]]
            state[:count] = moved
            features[position, :count] = self._state_feature[moved]
        met = features.T  # text-major, then byte order: first occurrences come first
        found = met >= 0
        text_of_found = np.repeat(np.arange(n, dtype=np.int64), found.sum(axis=1))
        keys = text_of_found * len(self._feature_scores) + met[found]
        codes, uniques = pd.factorize(keys, sort=False)
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.float32)
        text_of, feature = np.divmod(uniques, len(self._feature_scores))
        bounds = np.searchsorted(text_of, np.arange(n + 1))
        counted: list[tuple[np.ndarray, np.ndarray]] = [_NO_FEATURES] * n
        for rank, text in enumerate(order.tolist()):
            first, last = bounds[rank], bounds[rank + 1]
            if last > first:
                counted[text] = (feature[first:last], counts[first:last])
        return counted

    def _decide_block(
        self, encoded: list[bytes], counted: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[str, float]]:
        rows = np.concatenate([features for features, _ in counted])
        table = self._feature_scores[rows]
        results = []
        offset = 0
        for text, (features, counts) in zip(encoded, counted, strict=True):
            if len(features):
                rows_of_text = table[offset : offset + len(features)]
                offset += len(features)
                scores = np.log1p(counts) @ rows_of_text + self._class_scores
            else:
                scores = np.zeros(len(self._classes), dtype=np.float32)
            results.append(self._best(scores, len(text)))
        return results

    def _best(self, scores: np.ndarray, n_bytes: int) -> tuple[str, float]:
        # a softmax at temperature sqrt(bytes), aliased labels folded into their first column
        scores *= 1.0 / math.sqrt(n_bytes or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        for first, alias in self._alias_pairs:
            scores[first] += scores[alias]
            scores[alias] = 0.0
        best = int(scores.argmax())
        return self._classes[best], float(scores[best])


_NO_FEATURES = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


def _encode(text: str) -> bytes:
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def _byte_matrix(texts: list[bytes], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The texts (longest first) as columns of a (longest, n) byte matrix, and for each
    byte position how many texts reach it."""
    width = int(lengths[0])
    flat = np.frombuffer(b"".join(texts), dtype=np.uint8)
    # each text at the start of its row of a text-major matrix, then transposed
    shift = np.repeat(np.arange(len(texts)) * width - (np.cumsum(lengths) - lengths), lengths)
    rows = np.zeros(len(texts) * width, dtype=np.uint8)
    rows[np.arange(flat.size) + shift] = flat
    walking = np.searchsorted(-lengths, -np.arange(width), side="right")
    return np.ascontiguousarray(rows.reshape(len(texts), width).T), walking


def _arrays_of(path: Path) -> dict[str, np.ndarray]:
    ptc, pc, classes, nextmove, rows, output = load_model(path)
    return {
        # stored as float16, which py3langid casts to float32 for every text; cast once here
        # (+28 MB), they are the same numbers, and the cast was half of scoring
        "feature_scores": np.asarray(ptc, dtype=np.float32),
        "class_scores": np.asarray(pc, dtype=np.float32),
        "classes": np.array(classes),
        "next_state": np.frombuffer(nextmove, dtype=_dtype_of(nextmove)),
        "row_base": np.frombuffer(rows, dtype=_dtype_of(rows)).astype(np.int64) << 8,
        "state_feature": np.asarray(output, dtype=np.int64),
    }


def _identity(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _mapped(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def _save(arrays: Mapping[str, np.ndarray], folder: Path) -> None:
    """Write the arrays beside `folder`, then rename: a reader never sees half a cache. A
    damaged one is replaced; one that cannot be written is done without."""
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for name, values in arrays.items():
            np.save(partial / f"{name}.npy", values, allow_pickle=False)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)


def cache_folder() -> Path:
    """newsmill's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newsmill"


def _dtype_of(values: Sequence[int]) -> np.dtype:
    return np.dtype(f"u{values.itemsize}")  # type: ignore[attr-defined]


def _alias_pairs(classes: list[str]) -> list[tuple[int, int]]:
    """(first, alias) columns of a label the model lists twice (srl and sr are both sr)."""
    first: dict[str, int] = {}
    pairs = []
    for column, label in enumerate(classes):
        if label in first:
            pairs.append((first[label], column))
        else:
            first[label] = column
    return pairs


@load_once
def language_model() -> LanguageModel:
    return LanguageModel.cached(cache_folder())
