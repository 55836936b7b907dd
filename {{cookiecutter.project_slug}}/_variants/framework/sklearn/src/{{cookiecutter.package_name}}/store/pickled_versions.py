"""The scikit-learn version a pickled model was saved with, read without unpickling it.

Every scikit-learn estimator pickles the version it was fitted with (``_sklearn_version``).
Unpickling a model from another version can fail with a riddle (``No module named '_loss'``)
or load and predict differently, so registration reads the version first, from the raw bytes:
unpickling would run the file's code, reading its bytes runs nothing.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

# The key, pickled as a short string, maybe memoized, then its value: a short (\x8c, one-byte
# length) or long (X, four-byte length) string. Protocols 2 to 5, plain pickle or joblib.
_VERSION_VALUE = re.compile(rb"_sklearn_version(?:\x94|q.|r....)?(?:\x8c(.)|X(....))", re.DOTALL)


def sklearn_version(path: Path) -> str | None:
    """The scikit-learn version recorded in a pickle or (uncompressed) joblib file, if found."""
    try:
        with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            match = _VERSION_VALUE.search(data)
            if match is None:
                return None
            short, long = match.groups()
            length = short[0] if short else int.from_bytes(long, "little")
            if length > 32:
                return None
            text = data[match.end() : match.end() + length].decode("ascii", "replace")
    except (OSError, ValueError):  # an empty file cannot be mapped
        return None
    return text if re.fullmatch(r"\d+\.\d+[\w.+-]*", text) else None
