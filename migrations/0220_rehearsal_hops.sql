-- Where a rehearsal run's time went, per hop (issue 21, docs/rehearsal.md): written by `fenqi
-- rehearse run` from the spans its trace receiver kept (src/rehearsal/hops.ts), through the shadow
-- role into the shadow schema, next to the run's samples; read by `fenqi rehearse report`. Times in
-- microseconds; share_ppm is the hop's share of the time summed over every hop, in parts per
-- million (own time only: no time counted twice). The production schema's copy stays empty.
create table rehearsal_hops (
  rehearsal_id text not null references rehearsal_runs (rehearsal_id),
  hop text not null check (hop in ('api', 'publish', 'queueWait', 'worker', 'database')),
  traces bigint not null check (traces >= 0),
  mean_us bigint not null check (mean_us >= 0),
  p50_us bigint not null check (p50_us >= 0),
  p99_us bigint not null check (p99_us >= 0),
  max_us bigint not null check (max_us >= 0),
  share_ppm bigint not null check (share_ppm between 0 and 1000000),
  primary key (rehearsal_id, hop)
);

-- How the run's traces were taken: spans held, and spans of the rehearsal left out (sampled out or
-- past the receiver's bound), so the report can say what its per-hop figures rest on.
alter table rehearsal_runs
  add column trace_spans_held bigint check (trace_spans_held >= 0),
  add column trace_spans_dropped bigint check (trace_spans_dropped >= 0);
