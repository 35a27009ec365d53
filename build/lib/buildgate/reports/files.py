"""Writing report files: atomically, so a failed write never destroys the previous report."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    Raises ``OSError`` (the caller turns it into one line); the old file is untouched then.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(path: str | None, text: str) -> str | None:
    """Write one report; return a one-line reason instead of raising when it can't be written."""
    if not path:
        return None
    try:
        write_atomic(path, text)
    except OSError as exc:
        return f"buildgate: cannot write {path}: {exc.strerror or exc}"
    return None
