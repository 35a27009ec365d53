"""Where buildgate's own files are: the installed package, or a source checkout (no imports of
pytest here, so the ``buildgate`` command can find them before pytest starts)."""
from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_ROOT.parent   # a checkout's root (features/, steps/, fixtures/, pyproject.toml)


def _is_checkout(root: Path) -> bool:
    try:
        return (root / "features").is_dir() and 'name = "buildgate"' in (root / "pyproject.toml").read_text()
    except OSError:
        return False


# buildgate's own source checkout (trusted by the guard), or None when installed: then the parent
# folder is site-packages, which is nobody's checkout.
CHECKOUT: Path | None = SOURCE_ROOT if _is_checkout(SOURCE_ROOT) else None


def features_dir() -> Path:
    """The built-in ``.feature`` files: inside the installed package, else the checkout's."""
    installed = PACKAGE_ROOT / "features"
    return installed if installed.is_dir() else SOURCE_ROOT / "features"
