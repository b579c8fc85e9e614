-- Foundation: a probe table the health check and harness tests write to, and the id generator
-- every later table uses. Ids are bigint, embed nothing secret, and stay unique across shards:
-- 41 bits of milliseconds since 2025-01-01, 10 bits of shard, 12 bits of sequence.

create sequence if not exists fenqi_id_seq;

create or replace function fenqi_next_id(shard_id integer default 0) returns bigint
language plpgsql as $$
declare
  epoch_ms constant bigint := 1735689600000; -- 2025-01-01T00:00:00Z
  now_ms bigint := floor(extract(epoch from clock_timestamp()) * 1000);
  seq bigint := nextval('fenqi_id_seq') % 4096;
begin
  return ((now_ms - epoch_ms) << 22) | ((shard_id % 1024)::bigint << 12) | seq;
end;
$$;

create table if not exists platform_probe (
  id bigint primary key default fenqi_next_id(),
  note text not null,
  created_at timestamptz not null default now()
);
