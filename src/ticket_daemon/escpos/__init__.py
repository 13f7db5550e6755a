"""The pure ESC/POS renderer: a validated document and a printer profile in, the job's bytes out.

What it needs from the machine is handed in by the caller: fonts (:class:`Typefaces`) and, optionally, an image
cache (:class:`BitmapCache`; :class:`BoundedBitmapCache` is one that a single thread may use as it is).
"""

from ..document.rawpolicy import RawPolicy
from .image import image_bytes
from .imagecache import BitmapCache, BoundedBitmapCache
from .profiles import PrinterProfile, profile_for
from .qr import qr_bytes
from .raster import Bitmap
from .render import RenderedJob, render, render_job
from .typefaces import BUILT_IN, Typefaces

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
    "render",
    "render_job",
]
