"""Document limits. Each exists to keep one bad or hostile document from exhausting the daemon; hitting one
refuses that document with a categorised error and affects nothing else."""

# A 4 MB WebSocket frame is the transport limit; documents are bounded below it.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
# Deeper JSON than this is junk, not a receipt; refused before the parser recurses into it.
MAX_JSON_DEPTH = 64
# A long receipt has a few hundred commands; 2000 leaves room and bounds render time.
MAX_COMMANDS = 2000
# One text field: a whole receipt's worth of text (~1400 lines of 48 chars).
MAX_TEXT_CHARS = 65_536
# Table size: rows x columns. A 5000-line receipt is several metres of paper.
MAX_TABLE_CELLS = 20_000
# Base64 of one image (~3 MB decoded), so a document still fits one frame.
MAX_IMAGE_BASE64_CHARS = 4 * 1024 * 1024
# Decoded image pixels (width x height) before scaling: refuses decompression bombs (a 4000x4000 photo passes).
MAX_IMAGE_PIXELS = 16_000_000
# QR version 40 holds at most 7089 numeric characters; nothing bigger can ever fit.
MAX_QR_BYTES = 7089
# GS k length-prefixed forms carry one length byte.
MAX_BARCODE_BYTES = 255
# docs/document.md "raw": decoded size 1..4096 bytes.
MAX_RAW_BYTES = 4096
