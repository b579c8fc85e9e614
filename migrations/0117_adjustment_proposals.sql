-- Maker-checker for staff adjustments (issue 15 joined with issue 14 item 5): a charge or waiver
-- above the staff limit (domain/adjustments.ts STAFF_ADJUSTMENT_LIMIT_MINOR) is stored here as a
-- proposal and applied only when a second staff member approves it. The database itself refuses a
-- proposal decided by its proposer.
create table adjustment_proposals (
  id bigint primary key default fenqi_next_id(),
  customer_id bigint not null references customers (id),
  loan_id bigint not null,
  kind text not null check (kind in ('charge', 'waiver')),
  component text not null check (component in ('fee', 'interest', 'penalty')),
  amount_minor bigint not null check (amount_minor > 0),
  installment_number bigint check (installment_number > 0),
  reason text not null check (length(reason) between 1 and 200),
  status text not null default 'open' check (status in ('open', 'approved', 'rejected')),
  proposed_by bigint not null references staff (id),
  decided_by bigint references staff (id),
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  constraint adjustment_proposals_charges_are_fees check (kind = 'waiver' or component = 'fee'),
  constraint adjustment_proposals_not_own check (decided_by is null or decided_by <> proposed_by),
  constraint adjustment_proposals_decided check ((status = 'open') = (decided_by is null))
);
create index adjustment_proposals_customer_loan_idx on adjustment_proposals (customer_id, loan_id);
create index adjustment_proposals_proposed_by_idx on adjustment_proposals (proposed_by);
create index adjustment_proposals_decided_by_idx on adjustment_proposals (decided_by);
create index adjustment_proposals_open_idx on adjustment_proposals (id) where status = 'open';
