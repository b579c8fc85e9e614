-- Collections (issue 15): the collector staff role, a case per delinquent loan (assignment,
-- promise to pay, follow-up, delinquency pause), and the contact log. Outcomes are codes, never
-- free text, so no personal detail lands in a note. Customer-owned tables lead their keys with
-- customer_id.
alter table staff drop constraint staff_role_check;
-- NOT VALID: checked for new rows at once; 0116 validates the existing ones in its own transaction.
alter table staff add constraint staff_role_check check (role in ('risk', 'ops', 'admin', 'collector')) not valid;

create table collection_cases (
  customer_id bigint not null references customers (id),
  loan_id bigint not null,
  assigned_to bigint references staff (id),
  promise_date date,
  promise_amount_minor bigint check (promise_amount_minor > 0),
  next_follow_up date,
  -- hardship: no late fees and no days-past-due growth through this date (customer consent recorded)
  paused_until date,
  pause_consent_ref text check (length(pause_consent_ref) between 1 and 64),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id, loan_id),
  constraint promise_complete check ((promise_date is null) = (promise_amount_minor is null)),
  constraint pause_has_consent check (paused_until is null or pause_consent_ref is not null)
);
create index collection_cases_assigned_to_idx on collection_cases (assigned_to);
create index collection_cases_paused_idx on collection_cases (loan_id) where paused_until is not null;

create table collection_contacts (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  loan_id bigint not null,
  collector_id bigint not null references staff (id),
  channel text not null check (channel in ('call', 'sms', 'visit', 'letter')),
  outcome text not null check (outcome in ('no_answer', 'promise_to_pay', 'refused', 'wrong_number',
    'paid', 'hardship', 'dispute')),
  promise_date date,
  promise_amount_minor bigint check (promise_amount_minor > 0),
  business_date date not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  constraint promise_when_promised check ((outcome = 'promise_to_pay') = (promise_date is not null and promise_amount_minor is not null))
);
create index collection_contacts_loan_idx on collection_contacts (customer_id, loan_id);
create index collection_contacts_collector_id_idx on collection_contacts (collector_id);
