-- Monthly statements (issue 16 item 5): a bill per customer per cycle, its lines (installments due
-- in the cycle and still owed from before, payments received and charges made in the previous
-- cycle), and one run row per cycle that makes generation resumable. statements and statement_lines
-- are customer-owned: customer_id leads every key (Citus distribution column).

create table statements (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  cycle_start date not null,
  cycle_end date not null,
  -- the last due date of the cycle's installments: paying total_due_minor by then clears the bill
  due_date date not null,
  principal_due_minor bigint not null check (principal_due_minor >= 0),
  interest_due_minor bigint not null check (interest_due_minor >= 0),
  fee_due_minor bigint not null check (fee_due_minor >= 0),
  penalty_due_minor bigint not null check (penalty_due_minor >= 0),
  -- owed from installments that fell due before the cycle (part of the total)
  past_due_minor bigint not null check (past_due_minor >= 0),
  total_due_minor bigint not null check (total_due_minor >= 0),
  payments_received_minor bigint not null check (payments_received_minor >= 0),
  charges_minor bigint not null check (charges_minor >= 0),
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, cycle_start),
  constraint statement_cycle check (cycle_end >= cycle_start),
  constraint statement_adds_up check (
    total_due_minor = principal_due_minor + interest_due_minor + fee_due_minor + penalty_due_minor)
);

create table statement_lines (
  customer_id bigint not null,
  id bigint not null default fenqi_next_id(),
  statement_id bigint not null,
  kind text not null check (kind in ('installment', 'past_due', 'payment', 'charge')),
  line_date date not null,
  loan_id bigint not null,
  installment_number bigint,
  principal_minor bigint not null default 0 check (principal_minor >= 0),
  interest_minor bigint not null default 0 check (interest_minor >= 0),
  fee_minor bigint not null default 0 check (fee_minor >= 0),
  penalty_minor bigint not null default 0 check (penalty_minor >= 0),
  amount_minor bigint not null check (amount_minor >= 0),
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  foreign key (customer_id, statement_id) references statements (customer_id, id)
);
create index statement_lines_statement_idx on statement_lines (customer_id, statement_id, id);

-- One row per cycle: the keyset cursor over customers commits with each batch of statements.
create table statement_runs (
  cycle_start date primary key,
  cycle_end date not null,
  status text not null default 'running' check (status in ('running', 'completed')),
  cursor_customer_id bigint not null default 0,
  statements bigint not null default 0 check (statements >= 0),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  created_at timestamptz not null default now()
);
