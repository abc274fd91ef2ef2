"""The client event log: ingestion API and the log interface (Redis Streams)."""
