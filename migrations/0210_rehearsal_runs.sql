-- Rehearsal runs and their per-second samples (issue 21, docs/rehearsal.md): written by
-- `fenqi rehearse run` through the shadow role into the shadow schema, read by `fenqi rehearse
-- report`. Latencies in microseconds, rates per second. The production schema's copies stay empty.
create table rehearsal_runs (
  rehearsal_id text primary key references rehearsals (id),
  started_at timestamptz not null,
  finished_at timestamptz,
  profile text not null check (length(profile) <= 500),
  -- null while running or when the profile ran to its end; else the guard rail that stopped it
  stop_reason text check (length(stop_reason) <= 500)
);

create table rehearsal_samples (
  rehearsal_id text not null references rehearsal_runs (rehearsal_id),
  second_index bigint not null check (second_index >= 0),
  phase text not null check (phase in ('ramp', 'hold', 'burst')),
  target_per_s bigint not null check (target_per_s >= 0),
  sent bigint not null check (sent >= 0),
  accepted bigint not null check (accepted >= 0),
  refused bigint not null check (refused >= 0),
  failed bigint not null check (failed >= 0),
  p50_us bigint,
  p99_us bigint,
  backlog bigint,
  pg_active bigint,
  pg_commits_per_s bigint,
  redis_ops_per_s bigint,
  redis_memory_bytes bigint,
  primary key (rehearsal_id, second_index)
);

-- Scheduled rehearsal rounds and disaster-recovery drills: on `day_of_month` of each month listed.
-- Kept in the production schema (an operator's plan, not rehearsal data).
create table rehearsal_schedules (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('rehearsal', 'failover', 'region', 'restore')),
  months bigint[] not null check (cardinality(months) between 1 and 12 and months <@ array[1,2,3,4,5,6,7,8,9,10,11,12]::bigint[]),
  day_of_month bigint not null check (day_of_month between 1 and 28),
  label text not null check (length(label) between 1 and 100),
  last_run_on date,
  created_at timestamptz not null default now()
);
