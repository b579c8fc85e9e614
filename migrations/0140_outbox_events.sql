-- Domain events (issue 16 item 1): the transactional outbox, written in the same transaction as the
-- fact it records, relayed to JetStream by workers/event-relay.ts; and the processed-events table
-- that makes every consumer idempotent. Customer-owned: keys lead with customer_id (Citus).
-- customer_id is the fact's customer, or 0 for the platform's own facts (a merchant's settlement
-- paid, src/domain/settlement.ts PLATFORM_CUSTOMER_ID), as in journal_entries: so no foreign key to
-- customers; the writers derive it from the fact's own row.
create table outbox_events (
  customer_id bigint not null check (customer_id >= 0),
  id bigint not null default fenqi_next_id(),
  -- derived from the fact's natural key (store/outbox.ts), so one fact is one event
  event_id uuid not null,
  type text not null check (octet_length(type) between 1 and 64),
  -- domain/events.ts EVENT_PAYLOAD_MAX_BYTES
  payload jsonb not null check (octet_length(payload::text) <= 4096),
  occurred_at timestamptz not null default now(),
  relayed_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, event_id)
);
-- the relay's work list: small, as relayed rows leave it
create index outbox_events_unrelayed_idx on outbox_events (id) where relayed_at is null;

create table processed_events (
  -- the event's customer_id (0: the platform's), as in outbox_events
  customer_id bigint not null check (customer_id >= 0),
  consumer text not null check (octet_length(consumer) between 1 and 64),
  event_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (customer_id, consumer, event_id)
);
