-- Rehearsals (issue 21, docs/rehearsal.md): which are open, until when, and their target. Read by
-- the API's rehearsal gate through the shadow role, in the shadow schema (migrations run there too);
-- the production schema's copy stays empty.
create table rehearsals (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  opened_at timestamptz not null default now(),
  closes_at timestamptz not null,
  closed_at timestamptz,
  target_orders_per_s bigint not null check (target_orders_per_s > 0),
  check (closes_at > opened_at)
);
