"""Where this machine keeps what the pure core needs, found here and handed in: font files and a thread-safe image
cache.

The renderer draws text no code page has as an image, and the emulator draws every printer character; both take
their fonts as bytes (``escpos.typefaces.Typefaces``), so the same document and fonts give the same bytes anywhere.
This module knows where operating systems keep fonts: DejaVu Sans Mono (Debian ``fonts-dejavu-core``) for the
printer's characters and wide-coverage fonts for CJK and symbols (Debian ``fonts-wqy-microhei``, Noto CJK, the
Windows and macOS system fonts). ``scripts/install-system-deps.sh`` installs the Debian ones.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .escpos.imagecache import CACHE_BYTES, CACHE_ENTRIES, BoundedBitmapCache
from .escpos.typefaces import Typefaces

if TYPE_CHECKING:
    from .escpos.raster import Bitmap

DEJAVU_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
MONOSPACE_FILE = DEJAVU_DIRECTORY / "DejaVuSansMono.ttf"
MONOSPACE_BOLD_FILE = DEJAVU_DIRECTORY / "DejaVuSansMono-Bold.ttf"
# Wide-coverage fonts tried, in order, for characters the monospace font lacks (Debian, Windows, macOS locations).
FALLBACK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"),
    DEJAVU_DIRECTORY / "DejaVuSans.ttf",
    Path("C:/Windows/Fonts/msyh.ttc"),
    Path("C:/Windows/Fonts/seguisym.ttf"),
    Path("C:/Windows/Fonts/arialuni.ttf"),
    Path("/System/Library/Fonts/PingFang.ttc"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:  # unreadable: as if absent
        return None


def load_typefaces(
    regular: Path = MONOSPACE_FILE, bold: Path = MONOSPACE_BOLD_FILE, fallbacks: Sequence[Path] = FALLBACK_FONT_FILES
) -> Typefaces:
    """The fonts found at these paths (any that is missing is left out)."""
    found = (_read(path) for path in fallbacks)
    return Typefaces(regular=_read(regular), bold=_read(bold), fallbacks=tuple(data for data in found if data))


@lru_cache(maxsize=1)
def system_typefaces() -> Typefaces:
    """This machine's fonts, read once per process (a CJK font is several megabytes)."""
    return load_typefaces()


class LockedBitmapCache:
    """The core's bounded image cache behind a lock, for renders running in several threads at once."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self._cache = BoundedBitmapCache(entries, max_bytes)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Bitmap | None:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, bitmap: Bitmap) -> None:
        with self._lock:
            self._cache.put(key, bitmap)
