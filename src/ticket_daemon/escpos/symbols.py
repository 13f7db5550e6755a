"""Images, barcodes and QR codes as bytes: one function for the general renderer (``render.py``) and the layout of
plain documents (``plain.py``), so both print the very same bytes for the same data."""

from __future__ import annotations

from ..document.model import BarcodeData, ImageData, QrData
from .barcode import barcode_bytes
from .codepages import EncodedText
from .imagecache import BitmapCache
from .profiles import PrinterProfile
from .text import line_bytes
from .typefaces import Typefaces


def symbol_bytes(
    data: ImageData | BarcodeData | QrData,
    printer: PrinterProfile,
    typefaces: Typefaces,
    image_cache: BitmapCache | None,
) -> EncodedText:
    if isinstance(data, ImageData):
        from .image import image_bytes  # numpy and Pillow: imported by the first image, not by plain text

        return EncodedText(image_bytes(data, printer, image_cache))
    if isinstance(data, BarcodeData):
        return EncodedText(barcode_bytes(data, printer.dot_width))
    from .qr import qr_bytes  # numpy, Pillow and zxing-cpp: imported by the first QR code

    symbol = EncodedText(qr_bytes(data, printer))
    if not data.human_text:
        return symbol
    # docs/document.md "qr": human_text is printed below the symbol, centred like it.
    return symbol + line_bytes(data.human_text, data.align, printer, typefaces)
