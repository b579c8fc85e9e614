-- Ad-hoc charges and waivers by staff (issue 15). A waived penalty leaves penalty_minor but is
-- remembered in waived_penalty_minor, so close of business does not charge it again.
alter table installments add column waived_penalty_minor bigint not null default 0
  check (waived_penalty_minor >= 0);

create table loan_adjustments (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  loan_id bigint not null,
  installment_number bigint not null check (installment_number > 0),
  kind text not null check (kind in ('charge', 'waiver')),
  component text not null check (component in ('fee', 'interest', 'penalty')),
  amount_minor bigint not null check (amount_minor > 0),
  reason text not null check (length(reason) between 1 and 200),
  requested_by text not null,
  business_date date not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  constraint charges_are_fees check (kind = 'waiver' or component = 'fee')
);
create index loan_adjustments_loan_idx on loan_adjustments (customer_id, loan_id);
