-- Processes that make ids themselves (sale-day API and order workers) each claim a shard number
-- once at start, so the ids they make in memory (same layout as fenqi_next_id(): milliseconds
-- since 2025-01-01 << 22 | shard << 12 | sequence) never collide with another process's or with
-- the database's own (shard 0).
create sequence if not exists fenqi_id_shard_seq;
