-- The business date of a deployment whose clock is set by hand (FENQI_BUSINESS_CLOCK=manual): a test
-- deployment or a drill sets it, and closing date D moves it to D + 1. One row; a catalogue (reference)
-- table, not customer-owned. In the default mode (the time zone's calendar day) it is not read.
create table business_clock (
  id boolean primary key default true check (id),
  business_date date not null,
  updated_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
