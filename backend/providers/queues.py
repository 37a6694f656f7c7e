"""The queues background work runs on (see backend/providers/background.py): replies never wait behind
document ingestion, and neither waits behind mail, calendar sync and the sweeps."""

QUEUES: tuple[str, ...] = ("ai", "ingest", "default")
DEFAULT_QUEUE = "default"
