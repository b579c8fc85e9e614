-- Risk administration: risk staff change the policy, the deny list and model roles through the API
-- and the CLI (src/api/routes/risk-admin.ts, `fenqi risk policy|deny`). Who did what is kept: on the
-- rows themselves where a row stays (published_by, added_by; null for rows written before this and
-- for changes made with the CLI, which runs with database credentials and no staff login), and in
-- risk_admin_events for every change, removals and model role changes included.

alter table risk_policy_versions add column published_by bigint references staff (id);
create index risk_policy_versions_published_by_idx on risk_policy_versions (published_by);

-- A surrogate id for keyset paging of the list; the primary key stays (bidx, kind), which is what
-- the decision path probes.
alter table risk_deny_list add column id bigint not null default fenqi_next_id();
alter table risk_deny_list add column added_by bigint references staff (id);
create unique index risk_deny_list_id_key on risk_deny_list (id);
create index risk_deny_list_added_by_idx on risk_deny_list (added_by);

-- Append-only audit trail of administrative changes. `subject` names what changed without personal
-- data: "policy 7", "model 3", "phone 1a2b3c4d" (the first 8 hex digits of the blind index).
create table risk_admin_events (
  id bigint primary key default fenqi_next_id(),
  action text not null check (action in (
    'policy_published', 'policy_activated', 'deny_added', 'deny_removed', 'model_promoted', 'model_role_changed')),
  subject text not null,
  staff_id bigint references staff (id),
  detail jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index risk_admin_events_staff_id_idx on risk_admin_events (staff_id);

create function risk_admin_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'risk_admin_events is append-only';
end;
$$;
create trigger risk_admin_events_append_only before update or delete on risk_admin_events
  for each row execute function risk_admin_events_append_only();
