-- Goods returns (issue 15): each merchant's return window, and every return of an installment
-- order with what it cancelled, refunded and released. order_returns is customer-owned: its keys
-- lead with customer_id (Citus distribution column).
create table merchant_return_policies (
  merchant_id bigint primary key references merchants (id),
  return_window_days bigint not null check (return_window_days between 0 and 365),
  updated_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);

create table order_returns (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  order_id bigint not null,
  loan_id bigint not null,
  merchant_id bigint not null references merchants (id),
  kind text not null check (kind in ('full', 'partial')),
  returned_minor bigint not null check (returned_minor > 0),
  principal_cancelled_minor bigint not null check (principal_cancelled_minor >= 0),
  interest_cancelled_minor bigint not null check (interest_cancelled_minor >= 0),
  fee_cancelled_minor bigint not null check (fee_cancelled_minor >= 0),
  penalty_cancelled_minor bigint not null check (penalty_cancelled_minor >= 0),
  refund_minor bigint not null check (refund_minor >= 0),
  refund_to text not null check (refund_to in ('card', 'credit_balance')),
  -- who asked: 'merchant:<id>' or 'ops:<id>'
  requested_by text not null,
  business_date date not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, id)
);
create index order_returns_order_idx on order_returns (customer_id, order_id);
create index order_returns_loan_idx on order_returns (customer_id, loan_id);
create index order_returns_merchant_id_idx on order_returns (merchant_id);
