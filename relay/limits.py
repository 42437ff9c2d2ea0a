"""Size limits, as Sentry's Relay enforces them (relay-config defaults)."""

MIB = 1024 * 1024
KIB = 1024

# Whole request body as received (compressed).
MAX_ENVELOPE_COMPRESSED_BYTES = 40 * MIB
# Whole envelope after decompression.
MAX_ENVELOPE_BYTES = 200 * MIB
# One event or transaction item.
MAX_EVENT_BYTES = 1 * MIB
# Legacy /store/ body as received.
MAX_STORE_COMPRESSED_BYTES = 200 * KIB
MAX_ATTACHMENT_BYTES = 100 * MIB
MAX_ATTACHMENTS_BYTES = 100 * MIB
MAX_SESSION_COUNT = 100
# Browser security reports.
MAX_SECURITY_REPORT_BYTES = 1 * MIB
# Frames kept per stack trace (Sentry keeps the first and last halves).
MAX_FRAMES_PER_STACKTRACE = 250
