"""A cache of finished image bitmaps, handed in by the caller: a shop prints the same few logos all day.

The core only defines what a cache must do (:class:`BitmapCache`) and a bounded least-recently-used map that is
*not* safe across threads. An edge that renders from several threads wraps it with its own lock
(``resources.LockedBitmapCache``); a render without a cache just decodes every image.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .raster import Bitmap

# Bounded by count and by bytes, so the cache costs at most ~32 MB however large the images are.
CACHE_ENTRIES = 64
CACHE_BYTES = 32 * 1024 * 1024


class BitmapCache(Protocol):
    def get(self, key: Hashable) -> Bitmap | None: ...

    def put(self, key: Hashable, bitmap: Bitmap) -> None: ...


class BoundedBitmapCache:
    """Least-recently-used bitmaps, bounded by entries and by bytes. Not thread-safe: callers serialise access."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[Hashable, Bitmap] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Bitmap | None:
        bitmap = self._items.get(key)
        if bitmap is not None:
            self._items.move_to_end(key)
        return bitmap

    def put(self, key: Hashable, bitmap: Bitmap) -> None:
        size = len(bitmap.rows)
        if size > self._max_bytes:
            return
        old = self._items.pop(key, None)
        self._bytes -= len(old.rows) if old is not None else 0
        self._items[key] = bitmap
        self._bytes += size
        while len(self._items) > self._entries or self._bytes > self._max_bytes:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= len(evicted.rows)
