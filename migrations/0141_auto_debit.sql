-- Automatic debit (issue 16 item 2): cards on file (a gateway token, encrypted per field, and the
-- BIN and last four digits; never a card number), each customer's auto-debit choice, and the debit
-- attempts with their retries. Customer-owned: keys lead with customer_id (Citus).
create table payment_cards (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  token_enc bytea not null check (octet_length(token_enc) <= 1024),
  bin text not null check (bin ~ '^[0-9]{6}$'),
  last4 text not null check (last4 ~ '^[0-9]{4}$'),
  -- the card's number digest under the blind-index key: the same card added twice is one card
  card_bidx bytea not null check (octet_length(card_bidx) <= 64),
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, card_bidx)
);

create table auto_debit_settings (
  customer_id bigint not null references customers (id),
  enabled boolean not null default true,
  card_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id),
  foreign key (customer_id, card_id) references payment_cards (customer_id, id)
);
create index auto_debit_settings_card_idx on auto_debit_settings (customer_id, card_id);

create table debit_attempts (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  loan_id bigint not null,
  -- the installment due date this debit collects for; attempts 2.. are its retries
  due_date date not null,
  -- bounded by its check, far below int's range; the code reads it as a number
  -- squawk-ignore prefer-bigint-over-int
  attempt_number int not null check (attempt_number between 1 and 4),
  card_id bigint not null,
  amount_minor bigint check (amount_minor > 0),
  status text not null check (status in ('scheduled', 'sending', 'unknown', 'succeeded', 'failed', 'cancelled')),
  failure_reason text check (octet_length(failure_reason) <= 64),
  -- the business date it runs on, and the earliest moment on that date
  run_date date not null,
  not_before timestamptz not null,
  repayment_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, loan_id, due_date, attempt_number),
  foreign key (customer_id, card_id) references payment_cards (customer_id, id)
);
create index debit_attempts_card_idx on debit_attempts (customer_id, card_id);
create index debit_attempts_open_idx on debit_attempts (run_date, not_before)
  where status in ('scheduled', 'sending', 'unknown');
