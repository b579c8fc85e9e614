-- Credit lines, orders, loans and their schedules, money in and out. Every customer-owned table
-- carries customer_id and an index on it, so a customer's rows can live on one shard later.

create table credit_lines (
  customer_id bigint primary key references customers (id),
  limit_minor bigint not null check (limit_minor >= 0),
  used_minor bigint not null default 0,
  currency text not null default 'CNY',
  status text not null default 'active' check (status in ('active', 'frozen')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- the last line of defence: no code path can overdraw a line
  constraint credit_line_within_limit check (used_minor >= 0 and used_minor <= limit_minor)
);

-- One answer per client key: a retried money-moving request returns the first answer.
create table idempotency_keys (
  scope text not null,          -- who asked, e.g. 'customer:123'
  key text not null,
  request_hash bytea not null,  -- a different body under the same key is a 409
  status_code integer,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (scope, key)
);

create table orders (
  id bigint primary key default fenqi_next_id(),
  customer_id bigint not null references customers (id),
  merchant_id bigint not null references merchants (id),
  goods_id bigint not null references goods (id),
  product_id bigint not null references loan_products (id),
  tenor integer not null check (tenor > 0),
  price_minor bigint not null check (price_minor > 0),
  status text not null check (status in ('accepted', 'settled', 'rejected')),
  reject_reason text,
  idempotency_key text not null,
  loan_id bigint,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  unique (customer_id, idempotency_key)
);
create index orders_customer_id_idx on orders (customer_id);
create index orders_merchant_id_idx on orders (merchant_id);
create index orders_goods_id_idx on orders (goods_id);
create index orders_product_id_idx on orders (product_id);

create table loans (
  id bigint primary key default fenqi_next_id(),
  customer_id bigint not null references customers (id),
  product_id bigint not null references loan_products (id),
  kind text not null check (kind in ('cash', 'goods')),
  order_id bigint references orders (id),
  principal_minor bigint not null check (principal_minor > 0),
  tenor integer not null check (tenor > 0),
  start_date date not null,
  currency text not null default 'CNY',
  apr_percent text not null,
  status text not null check (status in ('pending_disbursement', 'active', 'paid_off', 'written_off', 'cancelled')),
  days_past_due integer not null default 0,
  bucket text not null default 'current' check (bucket in ('current', 'M1', 'M2', 'M3', 'M3+')),
  created_at timestamptz not null default now(),
  closed_at timestamptz
);
create index loans_customer_id_idx on loans (customer_id);
create index loans_product_id_idx on loans (product_id);
create index loans_order_id_idx on loans (order_id);
create index loans_open_idx on loans (id) where status = 'active';

create table installments (
  loan_id bigint not null references loans (id),
  number integer not null check (number > 0),
  customer_id bigint not null,
  due_date date not null,
  principal_minor bigint not null check (principal_minor >= 0),
  interest_minor bigint not null check (interest_minor >= 0),
  fee_minor bigint not null check (fee_minor >= 0),
  penalty_minor bigint not null default 0 check (penalty_minor >= 0),
  paid_principal_minor bigint not null default 0,
  paid_interest_minor bigint not null default 0,
  paid_fee_minor bigint not null default 0,
  paid_penalty_minor bigint not null default 0,
  status text not null default 'due' check (status in ('due', 'overdue', 'paid', 'written_off')),
  paid_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (loan_id, number),
  constraint installment_not_overpaid check (
    paid_principal_minor between 0 and principal_minor and paid_interest_minor between 0 and interest_minor
    and paid_fee_minor between 0 and fee_minor and paid_penalty_minor between 0 and penalty_minor)
);
create index installments_customer_id_idx on installments (customer_id);
create index installments_unpaid_due_idx on installments (due_date) where status in ('due', 'overdue');
