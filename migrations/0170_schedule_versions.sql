-- Hardship schedule changes (issue 15 item 8): a re-age or a reschedule keeps the schedule it
-- replaced, whole, with who changed it, when, and the customer's consent reference. A reschedule
-- that lowers what is owed beyond the staff limit waits here as a proposal for a second person.
-- Customer-owned tables lead their keys with customer_id.
create table schedule_versions (
  customer_id bigint not null references customers (id),
  loan_id bigint not null,
  version bigint not null check (version > 0),
  kind text not null check (kind in ('re_age', 'reschedule')),
  consent_ref text not null check (length(consent_ref) between 1 and 64),
  changed_by bigint not null references staff (id),
  business_date date not null,
  -- the installments as they stood before the change (amounts as decimal strings of minor units)
  installments jsonb not null,
  interest_delta_minor bigint not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, loan_id, version)
);
create index schedule_versions_changed_by_idx on schedule_versions (changed_by);

create table schedule_change_proposals (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  loan_id bigint not null,
  kind text not null check (kind in ('reschedule')),
  consent_ref text not null check (length(consent_ref) between 1 and 64),
  tenor bigint not null check (tenor > 0),
  start_date date not null,
  interest_delta_minor bigint not null,
  status text not null default 'open' check (status in ('open', 'approved', 'rejected')),
  proposed_by bigint not null references staff (id),
  decided_by bigint references staff (id),
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  primary key (customer_id, id),
  constraint schedule_change_proposals_not_own check (decided_by is null or decided_by <> proposed_by),
  constraint schedule_change_proposals_decided check ((status = 'open') = (decided_by is null))
);
create index schedule_change_proposals_proposed_by_idx on schedule_change_proposals (proposed_by);
create index schedule_change_proposals_decided_by_idx on schedule_change_proposals (decided_by);
create index schedule_change_proposals_loan_idx on schedule_change_proposals (customer_id, loan_id);
