-- Risk decisions (issue 6): the model registry, versioned policy rules, the deny list, the
-- decision log and the manual review queue. Models and policies are data: a decision row names
-- the model and policy version it used, so it can be replayed exactly later.

create table risk_models (
  id bigint primary key default fenqi_next_id(),
  -- human-facing, increasing: "model 7"
  version integer not null unique,
  role text not null check (role in ('champion', 'challenger', 'retired')),
  source text not null check (source in ('file', 'platform', 'bootstrap')),
  -- the fenqi-scorecard JSON written by src/risk/train.ts
  model jsonb not null,
  -- headline figures copied out of the model for listing: auc, gini, ks, rows, bads, features
  metrics jsonb not null,
  note text not null default '',
  created_at timestamptz not null default now(),
  promoted_at timestamptz
);
-- exactly one champion at a time: promotion retires the old one in the same transaction
create unique index risk_models_one_champion on risk_models (role) where role = 'champion';

create table risk_policy_versions (
  version integer primary key,
  -- the rule set and degradation rules, see src/risk/policy.ts
  policy jsonb not null,
  active boolean not null default false,
  note text not null default '',
  created_at timestamptz not null default now()
);
create unique index risk_policy_versions_one_active on risk_policy_versions (active) where active;

-- Deny list by blind index (HMAC of the normalised phone or national id): the database never holds
-- the number itself.
create table risk_deny_list (
  kind text not null check (kind in ('phone', 'national_id')),
  bidx bytea not null,
  reason text not null,
  created_at timestamptz not null default now(),
  primary key (bidx, kind)
);

create table credit_decisions (
  id bigint primary key default fenqi_next_id(),
  customer_id bigint not null references customers (id),
  outcome text not null check (outcome in ('approve', 'decline', 'refer')),
  grade text check (grade in ('A', 'B', 'C', 'D', 'E')),
  score integer,
  line_minor bigint check (line_minor >= 0),
  model_id bigint references risk_models (id),
  policy_version integer not null references risk_policy_versions (version),
  -- everything the pure evaluation read: application, provider answers, history, velocity
  inputs jsonb not null,
  -- points per feature, bins, reasons, rule hits, degradations, challenger scores
  result jsonb not null,
  reasons text[] not null default '{}',
  latency_ms integer not null,
  created_at timestamptz not null default now()
);
create index credit_decisions_customer_id_idx on credit_decisions (customer_id, created_at);
create index credit_decisions_model_id_idx on credit_decisions (model_id);
create index credit_decisions_policy_version_idx on credit_decisions (policy_version);
create index credit_decisions_created_at_idx on credit_decisions (created_at);

create table risk_reviews (
  decision_id bigint primary key references credit_decisions (id),
  customer_id bigint not null references customers (id),
  status text not null default 'open' check (status in ('open', 'approved', 'declined')),
  line_minor bigint check (line_minor >= 0),
  reason text,
  reviewer_id bigint references staff (id),
  created_at timestamptz not null default now(),
  resolved_at timestamptz
);
create index risk_reviews_customer_id_idx on risk_reviews (customer_id);
create index risk_reviews_reviewer_id_idx on risk_reviews (reviewer_id);
create index risk_reviews_open_idx on risk_reviews (created_at) where status = 'open';
