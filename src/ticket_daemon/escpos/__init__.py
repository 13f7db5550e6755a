"""The pure ESC/POS renderer: a validated document and a printer profile in, the job's bytes out.

What it needs from the machine is handed in by the caller: fonts (:class:`Typefaces`) and, optionally, an image
cache (:class:`BitmapCache`; :class:`BoundedBitmapCache` is one that a single thread may use as it is).
"""

from typing import TYPE_CHECKING, Any

from ..document.rawpolicy import RawPolicy
from .imagecache import BitmapCache, BoundedBitmapCache
from .profiles import PrinterProfile, profile_for
from .typefaces import BUILT_IN, Typefaces

if TYPE_CHECKING:
    from .image import image_bytes
    from .qr import qr_bytes
    from .raster import Bitmap
    from .render import RenderedJob, render_job


# Re-exported on first use (PEP 562): the renderer and the document models it reads load with the first document
# (the daemon serves before that); images and QR codes import numpy, Pillow and zxing-cpp, which plain text never
# needs.
def __getattr__(name: str) -> Any:
    if name in ("RenderedJob", "render_job"):
        from .render import RenderedJob, render_job

        return RenderedJob if name == "RenderedJob" else render_job
    if name == "image_bytes":
        from .image import image_bytes

        return image_bytes
    if name == "qr_bytes":
        from .qr import qr_bytes

        return qr_bytes
    if name == "Bitmap":
        from .raster import Bitmap

        return Bitmap
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILT_IN",
    "Bitmap",
    "BitmapCache",
    "BoundedBitmapCache",
    "PrinterProfile",
    "RawPolicy",
    "RenderedJob",
    "Typefaces",
    "image_bytes",
    "profile_for",
    "qr_bytes",
    "render_job",
]
