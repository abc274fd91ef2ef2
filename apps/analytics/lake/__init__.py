"""The event lake: raw events as Parquet files partitioned by UTC day and hour, written by
the event log's `lake` consumer group, compacted and expired by beat, queried through
`engine` (chdb in process, or a ClickHouse server). Modules: `columns` (the row), `storage`
(where files live), `writer` (the consumer), `maintenance` (compaction, retention),
`engine` (the SQL runner)."""
