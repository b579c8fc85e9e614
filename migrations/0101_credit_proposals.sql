-- Maker-checker for credit (issue 14 item 5): a credit-line change or a review approval above the
-- configured amount or the policy's maximum line is stored here as a proposal; a second staff
-- member approves or rejects it. The database itself refuses a proposal decided by its proposer.
create table credit_proposals (
  id bigint primary key default fenqi_next_id(),
  customer_id bigint not null references customers (id),
  kind text not null check (kind in ('line_change', 'review_approval')),
  decision_id bigint references credit_decisions (id),
  limit_minor bigint not null check (limit_minor > 0),
  line_status text check (line_status in ('active', 'frozen')),
  reason text not null check (reason in ('above_threshold', 'above_policy_max')),
  status text not null default 'open' check (status in ('open', 'approved', 'rejected')),
  proposed_by bigint not null references staff (id),
  decided_by bigint references staff (id),
  reject_note text,
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  check ((kind = 'review_approval') = (decision_id is not null)),
  check (decided_by is null or decided_by <> proposed_by),
  check ((status = 'open') = (decided_by is null))
);
create index credit_proposals_customer_id_idx on credit_proposals (customer_id);
create index credit_proposals_proposed_by_idx on credit_proposals (proposed_by);
create index credit_proposals_decided_by_idx on credit_proposals (decided_by);
create index credit_proposals_open_idx on credit_proposals (id) where status = 'open';
-- one open proposal per referred application
create unique index credit_proposals_decision_id_key on credit_proposals (decision_id) where status = 'open';
create index credit_proposals_decision_id_idx on credit_proposals (decision_id);

-- The stored bound of a credit line (domain/credit-approval.ts CREDIT_LINE_MAX_MINOR).
alter table credit_lines add constraint credit_lines_limit_max check (limit_minor <= 1000000000) not valid;
