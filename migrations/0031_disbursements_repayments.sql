-- Money out to a customer's bank card (cash loans) and money in (repayments). A disbursement is
-- sent to the payment gateway outside any database transaction, so its row is the durable record
-- of "we asked": a timeout leaves it pending until a retry or a reconciliation asks the gateway.

create table disbursements (
  id bigint primary key default fenqi_next_id(),
  loan_id bigint not null unique references loans (id),
  customer_id bigint not null references customers (id),
  amount_minor bigint not null check (amount_minor > 0),
  currency text not null default 'CNY',
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  gateway_reference text,
  failure_reason text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index disbursements_customer_id_idx on disbursements (customer_id);
create index disbursements_pending_idx on disbursements (created_at) where status = 'pending';

-- One row per applied repayment, split by component as it was allocated.
create table repayments (
  id bigint primary key default fenqi_next_id(),
  loan_id bigint not null references loans (id),
  customer_id bigint not null references customers (id),
  amount_minor bigint not null check (amount_minor > 0),
  principal_minor bigint not null default 0 check (principal_minor >= 0),
  interest_minor bigint not null default 0 check (interest_minor >= 0),
  fee_minor bigint not null default 0 check (fee_minor >= 0),
  penalty_minor bigint not null default 0 check (penalty_minor >= 0),
  excess_minor bigint not null default 0 check (excess_minor >= 0),
  -- future interest forgiven because this payment paid the loan off early
  waived_interest_minor bigint not null default 0 check (waived_interest_minor >= 0),
  business_date date not null,
  created_at timestamptz not null default now(),
  constraint repayment_adds_up check (
    amount_minor = principal_minor + interest_minor + fee_minor + penalty_minor + excess_minor)
);
create index repayments_loan_id_idx on repayments (loan_id);
create index repayments_customer_id_idx on repayments (customer_id);
