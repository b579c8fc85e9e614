-- Log-in and registration throttles (docs/security.md, src/auth/throttle.ts). The authority on
-- who may try again is the database, not the cache: a write to Redis can neither lift a lockout
-- nor reset a count, and a lost cache locks nobody out and frees nobody. Each subject is an
-- HMAC of what it counts (identifier, identifier + client address, client address) under a key
-- derived from the blind-index key, so no phone number, username or address is stored.
create table auth_throttle (
  subject bytea primary key,
  -- attempts counted in the window that started at window_started_at (reserved before the
  -- password is checked, given back on success)
  attempts bigint not null default 0 check (attempts >= 0),
  window_started_at timestamptz not null default now(),
  -- per-identifier backoff: no attempt is checked before this
  blocked_until timestamptz,
  -- whether the last attempt counted against this subject was refused (it is then not counted)
  last_refused boolean not null default false,
  created_at timestamptz not null default now()
);
create index auth_throttle_window_started_at_idx on auth_throttle (window_started_at);

-- Where an identifier has logged in successfully (HMAC of identifier + address) and until when
-- that is remembered: such a source is spared the per-identifier backoff, so a stranger guessing
-- from elsewhere cannot keep the owner out.
create table auth_known_source (
  subject bytea primary key,
  remembered_until timestamptz not null,
  created_at timestamptz not null default now()
);
create index auth_known_source_remembered_until_idx on auth_known_source (remembered_until);
