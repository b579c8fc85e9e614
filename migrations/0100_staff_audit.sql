-- Staff audit log (issue 14 item 4): every staff action, one row, hash-chained. Each row holds who
-- (actor_id, null for the CLI, and the role acted under), when, what (action), which record
-- (record_type, record_id), a sha256 of the record before and after (never the record: no
-- personal data here), the previous row's hash and its own. `fenqi audit verify` recomputes the
-- chain (src/store/staff-audit.ts).
--
-- Appends are serialised by the one row of staff_audit_head, locked FOR UPDATE by every writer in
-- the transaction of the action, so concurrent actions chain one after the other and a rolled-back
-- action leaves neither a row nor a gap. The head also holds the last hash, so deleting the newest
-- rows is detected as well.
create table staff_audit_log (
  seq bigint primary key check (seq > 0),
  created_at timestamptz not null,
  actor_id bigint references staff (id),
  actor_role text not null,
  action text not null,
  record_type text not null,
  record_id text not null,
  before_sha256 bytea,
  after_sha256 bytea,
  prev_hash bytea not null,
  row_hash bytea not null unique
);
create index staff_audit_log_actor_id_idx on staff_audit_log (actor_id);
create index staff_audit_log_record_idx on staff_audit_log (record_type, record_id);

create table staff_audit_head (
  id bigint primary key check (id = 1),
  seq bigint not null,
  row_hash bytea not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
insert into staff_audit_head (id, seq, row_hash) values (1, 0, decode(repeat('00', 32), 'hex'));

create function staff_audit_log_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'staff_audit_log is append-only';
end;
$$;
create trigger staff_audit_log_no_change before update or delete on staff_audit_log
  for each row execute function staff_audit_log_append_only();
create trigger staff_audit_log_no_truncate before truncate on staff_audit_log
  for each statement execute function staff_audit_log_append_only();

-- The default privileges (src/store/roles.ts) gave the app role update and delete on every new
-- table; on this one every role but its owner keeps only select and insert.
do $$
declare r record;
begin
  for r in
    select distinct g.rolname
    from pg_class c, aclexplode(c.relacl) a join pg_roles g on g.oid = a.grantee
    where c.oid = 'staff_audit_log'::regclass and a.grantee <> c.relowner
  loop
    execute format('revoke update, delete, truncate on staff_audit_log from %I', r.rolname);
  end loop;
end;
$$;

-- Staff roles: admin manages staff (src/staff/grants.ts holds who may grant what).
alter table staff drop constraint staff_role_check;
-- NOT VALID: checked for new rows at once; 0116 validates the existing ones in its own transaction.
alter table staff add constraint staff_role_check check (role in ('risk', 'ops', 'admin')) not valid;
