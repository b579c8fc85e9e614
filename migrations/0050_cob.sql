-- Close of business (src/workers/cob.ts). One row per business date closed, with a cursor so a
-- crashed run continues where its last committed batch ended, and a per-loan marker of the last
-- date closed so no loan is closed twice for a date, whoever reruns it.

create table cob_runs (
  business_date date primary key,
  status text not null check (status in ('running', 'completed')),
  -- keyset cursor: every active loan with id <= cursor_loan_id is closed for this date
  cursor_loan_id bigint not null default 0,
  loans_total integer not null default 0,
  loans_done integer not null default 0,
  batch_size integer not null check (batch_size > 0),
  write_off_dpd integer not null check (write_off_dpd > 0),
  installments_overdue integer not null default 0,
  accrual_entries integer not null default 0,
  interest_accrued_minor bigint not null default 0,
  late_fee_entries integer not null default 0,
  late_fees_minor bigint not null default 0,
  loans_written_off integer not null default 0,
  written_off_minor bigint not null default 0,
  -- how many times the run was started for this date (1 unless it was resumed or forced)
  attempts integer not null default 1,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  created_at timestamptz not null default now()
);
create index cob_runs_running_idx on cob_runs (business_date) where status = 'running';

create table loan_cob_marks (
  loan_id bigint primary key references loans (id),
  customer_id bigint not null,
  last_closed_date date not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index loan_cob_marks_customer_id_idx on loan_cob_marks (customer_id);
