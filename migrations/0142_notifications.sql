-- Notifications (issue 16 item 3): each customer's language and marketing unsubscribe, and every
-- message the notifier decided to send, with its delivery status and attempts. Message texts are
-- rendered at send time from the event's payload (amounts and dates; no personal field is stored
-- here). Customer-owned: keys lead with customer_id (Citus).
create table notification_preferences (
  customer_id bigint not null references customers (id),
  language text not null default 'zh-CN' check (language in ('zh-CN', 'en')),
  marketing_opt_out boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id)
);

create table notifications (
  customer_id bigint not null references customers (id),
  id bigint not null default fenqi_next_id(),
  event_id uuid not null,
  channel text not null check (channel in ('sms', 'push')),
  template text not null check (octet_length(template) <= 64),
  payload jsonb not null check (octet_length(payload::text) <= 4096),
  status text not null check (status in ('pending', 'sent', 'failed')),
  -- bounded by its check, far below int's range; the code reads it as a number
  -- squawk-ignore prefer-bigint-over-int
  attempts int not null default 0 check (attempts between 0 and 100),
  send_after timestamptz not null,
  sent_at timestamptz,
  last_error text check (octet_length(last_error) <= 64),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id, id),
  unique (customer_id, event_id, channel)
);
create index notifications_pending_idx on notifications (send_after) where status = 'pending';
create index notifications_sent_day_idx on notifications (customer_id, sent_at) where status = 'sent';
