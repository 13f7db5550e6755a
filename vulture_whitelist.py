"""Names vulture cannot see used (``make lint`` runs ``vulture src vulture_whitelist.py``).

Each group says who uses them. Anything not listed here and unused in ``src`` is dead and is removed.
"""

# ruff: noqa
# Called by a framework, never by our code.
model_config  # pydantic: a model's configuration
_tls_files_come_in_pairs  # pydantic validators (config.py)
_site_is_named
settings_customise_sources  # pydantic-settings: the source order (defaults < TOML < environment < flags)
dotenv_settings  # its signature
file_secret_settings
_null_is_not_given  # pydantic validators (document/model.py)
_check_size
_check_base64
_check_data
_check_length
_check_logo
_check_rows
_check_payload
_check_major
comment  # document fields the client sends and the renderer ignores (docs/document.md)
debug_log
client_index  # a computed field the document reader fills
_reading_notes
_client_indexes
on_connect  # paho-mqtt callbacks and their signatures
on_connect_fail
on_disconnect
on_message
on_publish
userdata
properties
formatTime  # logging.Formatter hook and its signature
datefmt
_srcfile  # logging module switches: no caller frames, process or thread names looked up per record
logMultiprocessing
logProcesses
logThreads
writeable  # numpy array flags: the arrays are read-only once built
data_received  # asyncio.Protocol callback
capture_signals  # uvicorn.Server hook
SvcShutdown  # pywin32 service framework
SvcRun
__qualname__
write_timeout  # pyserial setting

# Public API of the Python clients (docs), used by their callers.
wait_result
presence

# What a test reads to check what a user cannot see directly (kept small; each is a read-only accessor).
last_request_id  # the CUPS job a print became
alive  # printer link threads
idle
killed  # render workers killed for running over budget
worker_pids
remembered_addresses  # rate-limit memory stays bounded
is_routed  # results routing
has_bytes  # a finished job dropped its printer data
stored_document
qr_matrix  # the QR matrix and a bitmap as an image, for decoding what was printed
image_from_bitmap
chars_per_line_b  # font B layout of a profile
CANCEL_KANJI  # named ESC/POS command the emulator tests feed
until_nul  # escpos.commandset.Measure: read by unpacking the tuple (printers/realtime.py)
prepare  # logs.py: QueueHandler.prepare, called by the stdlib
warm  # render/pool.py: starts the workers ahead of need (tests, tools)
__getattr__  # escpos/__init__.py: PEP 562 lazy re-exports
