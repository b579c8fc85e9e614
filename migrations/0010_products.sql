-- Loan products. The rules of a product (rates, method, fees...) are validated by
-- src/domain/product.ts and kept as one document; the columns are what queries filter on.
create table loan_products (
  id bigint primary key default fenqi_next_id(),
  code text not null unique,
  kind text not null check (kind in ('cash', 'goods')),
  active boolean not null default true,
  apr_cap_bp integer not null check (apr_cap_bp > 0),
  -- the validated LoanProduct; amounts inside are strings of minor units
  terms jsonb not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
