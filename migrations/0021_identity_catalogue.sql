-- Identity and catalogue support (issue 5).

-- The public catalogue pages by id within a merchant: keyset pagination needs (merchant_id, id).
-- It also serves the foreign key, so the single-column index goes.
create index goods_merchant_id_id_idx on goods (merchant_id, id);
drop index goods_merchant_id_idx;
-- Only active goods are listed; the unfiltered catalogue pages by id.
create index goods_active_id_idx on goods (id) where active;

-- One row per seed that has run, so demo data is created on the first start only, and later
-- seeds (products, credit lines) can record themselves the same way.
create table seed_runs (
  name text primary key,
  result jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
