-- Keys for a database sharded by customer (issue 20, docs/scaling.md). On Citus every customer-owned
-- table is distributed by its customer id, and a primary or unique key, or a foreign key between
-- two such tables, must include that column; so the keys below lead with customer_id on every
-- backend (plain PostgreSQL, PGlite and Citus run the same schema). Ids stay globally unique
-- (fenqi_next_id()), so (customer_id, id) admits exactly what (id) did; a plain index on id keeps
-- look-ups by id alone fast.
-- squawk: re-keying takes ACCESS EXCLUSIVE locks (primary keys rebuilt, foreign keys checked,
-- indexes built and dropped inside the migration's transaction) and no form of it is online here:
-- CREATE INDEX CONCURRENTLY cannot run in a transaction, and a primary key cannot move to other
-- columns without a new index. It is not meant to be online: moving onto the customer-keyed schema is
-- a planned upgrade with the platform stopped (docs/scaling.md, "Upgrading an existing database"),
-- after which the Citus distribution step copies every row anyway. So each statement below names the
-- squawk rules it is exempt from (squawk-ignore), and nothing else in the file is.

-- 1. Every journal entry belongs to a customer's shard. Entries not about one customer (drills)
-- belong to the platform, customer 0 (src/store/ledger.ts PLATFORM_CUSTOMER_ID); every line carries its entry's customer, platform legs too: the
-- platform's accounts are per-shard sub-accounts whose balances add up over shards.
update journal_entries set customer_id = 0 where customer_id is null;
alter table journal_lines disable trigger journal_lines_append_only;
update journal_lines l set customer_id = e.customer_id
  from journal_entries e where e.id = l.entry_id and l.customer_id is null;
alter table journal_lines enable trigger journal_lines_append_only;
-- A writer that names no customer writes for the platform; a line whose customer is not its
-- entry's is refused by the foreign key below.
-- squawk-ignore adding-not-nullable-field
alter table journal_entries alter column customer_id set not null, alter column customer_id set default 0;
-- squawk-ignore adding-not-nullable-field
alter table journal_lines alter column customer_id set not null, alter column customer_id set default 0;

-- 2. Foreign keys that name a customer-owned row by id alone go first: they hang on the old keys.
alter table loans drop constraint loans_order_id_fkey;
alter table installments drop constraint installments_loan_id_fkey;
alter table disbursements drop constraint disbursements_loan_id_fkey;
alter table repayments drop constraint repayments_loan_id_fkey;
alter table loan_cob_marks drop constraint loan_cob_marks_loan_id_fkey;
alter table journal_lines drop constraint journal_lines_entry_id_fkey;
alter table risk_reviews drop constraint risk_reviews_decision_id_fkey;
alter table credit_proposals drop constraint credit_proposals_decision_id_fkey;

-- 3. Primary and unique keys with the customer first.
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table orders drop constraint orders_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table loans drop constraint loans_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table installments drop constraint installments_pkey, add primary key (customer_id, loan_id, number);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table disbursements drop constraint disbursements_pkey, add primary key (customer_id, id),
  -- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
  drop constraint disbursements_loan_id_key, add constraint disbursements_loan_id_key unique (customer_id, loan_id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table repayments drop constraint repayments_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table loan_cob_marks drop constraint loan_cob_marks_pkey, add primary key (customer_id, loan_id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table journal_entries drop constraint journal_entries_pkey, add primary key (customer_id, id),
  drop constraint journal_entries_event_key_key,
  -- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
  add constraint journal_entries_event_key_key unique (customer_id, event_key);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table journal_lines drop constraint journal_lines_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table credit_decisions drop constraint credit_decisions_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table risk_reviews drop constraint risk_reviews_pkey, add primary key (customer_id, decision_id);

-- 4. The foreign keys again, through the customer.
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table loans add constraint loans_order_id_fkey
  foreign key (customer_id, order_id) references orders (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table installments add constraint installments_loan_id_fkey
  foreign key (customer_id, loan_id) references loans (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table disbursements add constraint disbursements_loan_id_fkey
  foreign key (customer_id, loan_id) references loans (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table repayments add constraint repayments_loan_id_fkey
  foreign key (customer_id, loan_id) references loans (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table loan_cob_marks add constraint loan_cob_marks_loan_id_fkey
  foreign key (customer_id, loan_id) references loans (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table journal_lines add constraint journal_lines_entry_id_fkey
  foreign key (customer_id, entry_id) references journal_entries (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table risk_reviews add constraint risk_reviews_decision_id_fkey
  foreign key (customer_id, decision_id) references credit_decisions (customer_id, id);

-- 5. Indexes: by id alone for look-ups that have no customer, by (customer, x) for the foreign
-- keys; single-column customer_id indexes go where a key now leads with customer_id.
-- squawk-ignore require-concurrent-index-creation
create index orders_id_idx on orders (id);
-- squawk-ignore require-concurrent-index-creation
create index loans_id_idx on loans (id);
-- squawk-ignore require-concurrent-index-creation
create index installments_loan_id_idx on installments (loan_id, number);
-- squawk-ignore require-concurrent-index-creation
create index disbursements_id_idx on disbursements (id);
-- squawk-ignore require-concurrent-index-creation
create index disbursements_loan_id_idx on disbursements (loan_id);
-- squawk-ignore require-concurrent-index-creation
create index repayments_id_idx on repayments (id);
-- squawk-ignore require-concurrent-index-creation
create index repayments_customer_loan_idx on repayments (customer_id, loan_id);
-- squawk-ignore require-concurrent-index-creation
create index loan_cob_marks_loan_id_idx on loan_cob_marks (loan_id);
-- squawk-ignore require-concurrent-index-creation
create index journal_entries_id_idx on journal_entries (id);
-- squawk-ignore require-concurrent-index-creation
create index journal_entries_event_key_idx on journal_entries (event_key);
-- squawk-ignore require-concurrent-index-creation
create index journal_lines_customer_entry_idx on journal_lines (customer_id, entry_id);
-- squawk-ignore require-concurrent-index-creation
create index credit_decisions_id_idx on credit_decisions (id);
-- squawk-ignore require-concurrent-index-creation
create index risk_reviews_decision_id_idx on risk_reviews (decision_id);
-- squawk-ignore require-concurrent-index-deletion
drop index loans_order_id_idx;
-- squawk-ignore require-concurrent-index-creation
create index loans_order_id_idx on loans (customer_id, order_id);
-- squawk-ignore require-concurrent-index-deletion
drop index orders_customer_id_idx, loans_customer_id_idx, installments_customer_id_idx,
  disbursements_customer_id_idx, repayments_customer_id_idx, journal_entries_customer_id_idx,
  journal_lines_customer_id_idx, loan_cob_marks_customer_id_idx, risk_reviews_customer_id_idx;

-- 6. Idempotency keys live with the customer who sent them; keys of other principals (merchants,
-- staff) with the platform, customer 0.
alter table idempotency_keys add column customer_id bigint not null default 0;
update idempotency_keys set customer_id = split_part(scope, ':', 2)::bigint where scope like 'customer:%';
alter table idempotency_keys alter column customer_id drop default;
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table idempotency_keys drop constraint idempotency_keys_pkey, add primary key (customer_id, scope, key);

-- 7. A phone number or national id belongs to one customer. Uniqueness across customers cannot be
-- a key of customers once customers are sharded by id, so it is the key of customer_identities,
-- a table sharded by the blind index itself: a registration claims its identities there, and a
-- look-up by phone is one row on one shard. customers keeps the blind indexes for its own reads.
create table customer_identities (
  -- a keyed digest (HMAC-SHA-256, 32 bytes), bounded like customers' blind indexes (0090)
  bidx bytea not null check (octet_length(bidx) <= 64),
  kind text not null check (kind in ('phone', 'national_id')),
  customer_id bigint not null,
  created_at timestamptz not null default now(),
  primary key (bidx, kind)
);
create index customer_identities_customer_id_idx on customer_identities (customer_id);
insert into customer_identities (bidx, kind, customer_id)
  select phone_bidx, 'phone', id from customers
  union all
  select national_id_bidx, 'national_id', id from customers;
alter table customers drop constraint customers_phone_bidx_key, drop constraint customers_national_id_bidx_key;
-- squawk-ignore require-concurrent-index-creation
create index customers_phone_bidx_idx on customers (phone_bidx);

-- 8. Proposals for a credit change (maker-checker, migration 0101) are the customer's: keyed and
-- linked to their decision through the customer; one open proposal per decision stays unique
-- (decision ids are unique across customers, so adding the customer admits nothing new).
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table credit_proposals drop constraint credit_proposals_pkey, add primary key (customer_id, id);
-- squawk-ignore adding-foreign-key-constraint, constraint-missing-not-valid
alter table credit_proposals add constraint credit_proposals_decision_id_fkey
  foreign key (customer_id, decision_id) references credit_decisions (customer_id, id);
-- squawk-ignore require-concurrent-index-deletion
drop index credit_proposals_decision_id_key;
-- squawk-ignore require-concurrent-index-creation
create unique index credit_proposals_decision_id_key on credit_proposals (customer_id, decision_id)
  where status = 'open';
-- squawk-ignore require-concurrent-index-creation
create index credit_proposals_id_idx on credit_proposals (id);
-- the foreign key to the decision, through the customer (the open-only unique index is partial)
-- squawk-ignore require-concurrent-index-creation
create index credit_proposals_customer_decision_idx on credit_proposals (customer_id, decision_id);
