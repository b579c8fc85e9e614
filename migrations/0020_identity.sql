-- People and organisations. Personal fields are never stored in clear: *_enc columns hold
-- AES-256-GCM ciphertext with the key id inside (src/store/crypto), *_bidx an HMAC blind index
-- for equality look-up and uniqueness.
create table customers (
  id bigint primary key default fenqi_next_id(),
  phone_enc bytea not null,
  phone_bidx bytea not null unique,
  national_id_enc bytea not null,
  national_id_bidx bytea not null unique,
  legal_name_enc bytea not null,
  bank_card_enc bytea,
  password_hash text not null,
  status text not null default 'active' check (status in ('active', 'locked', 'closed')),
  created_at timestamptz not null default now()
);

create table staff (
  id bigint primary key default fenqi_next_id(),
  username text not null unique,
  role text not null check (role in ('risk', 'ops')),
  password_hash text not null,
  created_at timestamptz not null default now()
);

create table merchants (
  id bigint primary key default fenqi_next_id(),
  name text not null,
  -- sha256 of the API key; the key itself is shown once, at creation
  api_key_hash bytea not null unique,
  status text not null default 'active' check (status in ('active', 'suspended')),
  created_at timestamptz not null default now()
);

create table goods (
  id bigint primary key default fenqi_next_id(),
  merchant_id bigint not null references merchants (id),
  sku text not null,
  name text not null,
  price_minor bigint not null check (price_minor > 0),
  currency text not null default 'CNY',
  active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (merchant_id, sku)
);
create index goods_merchant_id_idx on goods (merchant_id);
