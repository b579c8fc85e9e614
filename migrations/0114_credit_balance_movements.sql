-- A customer's credit balance (account 2200, overpayments and refunds kept for them) paid out to
-- their card or moved onto another of their loans, by staff (issue 15). Customer-owned: keys lead
-- with customer_id.
create table credit_balance_movements (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  kind text not null check (kind in ('refund', 'transfer')),
  amount_minor bigint not null check (amount_minor > 0),
  -- the loan a transfer paid (null for a refund)
  loan_id bigint,
  requested_by text not null,
  business_date date not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  constraint transfer_names_loan check ((kind = 'transfer') = (loan_id is not null))
);
create index credit_balance_movements_loan_idx on credit_balance_movements (customer_id, loan_id);
