"""The pure ESC/POS renderer: a validated document and a printer profile in, the job's bytes out."""

from ..document.rawpolicy import RawPolicy
from .image import image_bytes
from .profiles import PrinterProfile, profile_for
from .qr import qr_bytes
from .raster import Bitmap
from .render import RenderedJob, render, render_job

__all__ = [
    "Bitmap",
    "PrinterProfile",
    "RawPolicy",
    "RenderedJob",
    "image_bytes",
    "profile_for",
    "qr_bytes",
    "render",
    "render_job",
]
