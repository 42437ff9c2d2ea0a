"""How long each ClickHouse table keeps its rows (its TTL), in one place.

The relay refuses what a table would expire at once, as an outcome, rather than
storing a row that vanishes at the next merge; rollups and the audit use the same
periods. A test holds these to the TTLs the migrations declare.
"""

from __future__ import annotations

DAY_S = 24 * 3600

EVENTS_RETENTION_S = 365 * DAY_S
TRANSACTIONS_RETENTION_S = 30 * DAY_S
# Attachments and the ledger expire by arrival time, sessions by their start.
ATTACHMENTS_RETENTION_S = 90 * DAY_S
SESSIONS_RETENTION_S = 90 * DAY_S
LEDGER_RETENTION_S = 90 * DAY_S
