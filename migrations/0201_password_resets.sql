-- Forgot-password (issue 17): a one-time code sent by SMS. Only an HMAC of the code is kept (under a
-- key the database never sees), with its expiry and the wrong tries spent on it; a code is used once.
-- Customer-owned: led by customer_id.
create table password_reset_codes (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  code_hmac bytea not null check (octet_length(code_hmac) = 32),
  expires_at timestamptz not null,
  attempts bigint not null default 0 check (attempts >= 0),
  used_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (customer_id, id)
);

-- A password reset ends every session the customer had: access tokens issued before revoked_at are
-- refused. Each API process reads the revocations of the last token lifetime (by revoked_at).
create table credential_revocations (
  customer_id bigint not null references customers (id),
  revoked_at timestamptz not null,
  reason text not null check (reason in ('password_reset')),
  primary key (customer_id, revoked_at)
);
create index credential_revocations_revoked_at_idx on credential_revocations (revoked_at);
