-- Loan agreement acceptance (issue 17): before an order or a cash draw the borrower reads the loan
-- agreement (with its late-fee and credit-bureau disclosure) and accepts it. What was accepted is
-- kept: the agreement's version, a SHA-256 of the text as it was shown, when, by whom, and the
-- terms it covers (product and tenor, and the goods or the cash amount). The order or loan that used
-- it is written back, so one acceptance covers one order. Customer-owned: led by customer_id.
create table agreement_acceptances (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  version text not null check (length(version) between 1 and 32),
  text_sha256 bytea not null check (octet_length(text_sha256) = 32),
  product_id bigint not null references loan_products (id),
  tenor bigint not null check (tenor > 0),
  goods_id bigint references goods (id),
  amount_minor bigint check (amount_minor > 0),
  accepted_at timestamptz not null default now(),
  order_id bigint,
  loan_id bigint,
  primary key (customer_id, id),
  -- goods are bought (goods_id) or cash is drawn (amount_minor): exactly one
  constraint agreement_acceptances_covers_one check ((goods_id is null) <> (amount_minor is null)),
  constraint agreement_acceptances_used_once check (order_id is null or loan_id is null)
);
create index agreement_acceptances_product_id_idx on agreement_acceptances (product_id);
create index agreement_acceptances_goods_id_idx on agreement_acceptances (goods_id);
