-- Merchant settlement (issue 16 item 4): each merchant's discount rate, one settlement per merchant
-- per sales date with its lines (each financed order, each return, each negative settlement carried
-- forward), paid through the payout rail. Settlement money belongs to no customer: these tables are
-- the platform's, with customer_id fixed at 0 (PLATFORM_CUSTOMER_ID) and every key led by it, so
-- under Citus they are distributed by customer_id like the rest and all live on the one shard of
-- customer 0 (co-located with the platform's own journal lines).

insert into ledger_accounts (code, name, type) values
  ('1210', 'Merchant payouts in transit', 'asset'),
  ('4400', 'Merchant discount income', 'income');

-- The discount (merchant discount rate) agreed with each merchant, in basis points of the price.
-- Without a row the merchant's rate is DEFAULT_MERCHANT_DISCOUNT_BP (src/domain/settlement.ts).
create table merchant_settlement_terms (
  merchant_id bigint primary key references merchants (id),
  discount_bp bigint not null check (discount_bp between 0 and 10000),
  updated_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);

create table merchant_settlements (
  customer_id bigint not null default 0 check (customer_id = 0),
  id bigint not null default fenqi_next_id(),
  merchant_id bigint not null references merchants (id),
  -- the business date whose sales (and returns) this settles, and the day it is paid (T+1)
  sales_date date not null,
  value_date date not null,
  order_lines bigint not null default 0 check (order_lines >= 0),
  return_lines bigint not null default 0 check (return_lines >= 0),
  gross_minor bigint not null default 0,
  discount_minor bigint not null default 0,
  net_minor bigint not null default 0,
  -- pending: to pay; paying: sent, outcome not yet known; paid; failed: the rail refused (retried);
  -- carried: net negative (returns beyond sales), carried into the merchant's next settlement;
  -- empty: nets to zero, nothing to pay
  status text not null default 'pending'
    check (status in ('pending', 'paying', 'paid', 'failed', 'carried', 'empty')),
  attempts bigint not null default 0 check (attempts >= 0),
  failure_reason text check (length(failure_reason) <= 64),
  payout_reference text check (length(payout_reference) <= 128),
  carried_into bigint,
  paid_on date,
  updated_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, merchant_id, sales_date),
  constraint settlement_paid_is_positive check (status not in ('pending', 'paying', 'paid', 'failed') or net_minor > 0),
  constraint settlement_carried_is_negative check (status <> 'carried' or net_minor < 0)
);
create index merchant_settlements_merchant_id_idx on merchant_settlements (merchant_id);
create index merchant_settlements_merchant_idx on merchant_settlements (customer_id, merchant_id, id);
create index merchant_settlements_open_idx on merchant_settlements (customer_id, id)
  where status in ('pending', 'paying', 'failed');
create index merchant_settlements_sales_date_idx on merchant_settlements (customer_id, sales_date);

-- Each order, return or carried settlement is in exactly one settlement: the unique key is what makes
-- a rerun, a second process or a crash unable to settle anything twice.
create table merchant_settlement_lines (
  customer_id bigint not null default 0 check (customer_id = 0),
  id bigint not null default fenqi_next_id(),
  settlement_id bigint not null,
  kind text not null check (kind in ('order', 'return', 'carry')),
  -- the order's id, the return's id, or the carried settlement's id
  source_id bigint not null,
  order_id bigint,
  -- whose order it was (that customer's shard holds the order and the return)
  order_customer_id bigint,
  discount_bp bigint not null check (discount_bp between 0 and 10000),
  gross_minor bigint not null,
  discount_minor bigint not null,
  net_minor bigint not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, kind, source_id),
  foreign key (customer_id, settlement_id) references merchant_settlements (customer_id, id),
  constraint settlement_line_adds_up check (net_minor = gross_minor - discount_minor)
);
create index merchant_settlement_lines_settlement_idx on merchant_settlement_lines (customer_id, settlement_id, id);
