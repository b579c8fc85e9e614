-- Settlement cost (issue 19, docs/flash.md): the foreign key from installments to loans was
-- checked once per installment row, a trigger and a look-up of loans per row: twelve per order,
-- about half of what the installments INSERT cost. The same rule is now checked once per statement,
-- over the rows the statement inserted (a transition table), by one join; and it holds from the
-- other side by making what a foreign key guards against impossible:
--   * every inserted installment names a loan (customer_id, loan_id) that exists;
--   * an installment's customer_id and loan_id never change (the foreign key allowed re-pointing
--     to another loan: nothing does that, and on Citus the customer cannot change anyway);
--   * a loan is never deleted (a loan ends by its status: paid_off, written_off, cancelled), and
--     its customer_id and id never change.
-- A loan that exists can so never stop existing, and no lock is needed: a check that sees the loan
-- (committed, or written earlier in this transaction) is true at commit and after.
--
-- On Citus the triggers fire on each shard (migration 0103): the check reads the co-located loans
-- shard of the statement's customers, found through Citus's metadata; one statement on a shard
-- touches only that shard's customers.

-- tables already distributed (an existing Citus database) accept a trigger only with this on;
-- elsewhere it is an unused setting
set local citus.enable_unsafe_triggers = on;

-- The relation holding `target`'s rows of this customer, seen from a trigger on `fired_on`, which
-- is `base` itself (one PostgreSQL, PGlite) or one of its Citus shards (`base`_102104).
create or replace function fenqi_colocated_relation(fired_on name, fired_schema name, base name, target name,
  customer bigint) returns text
language plpgsql stable as $$
begin
  if fired_on = base then
    return format('%I.%I', fired_schema, target);
  end if;
  return shard_name(format('%I.%I', fired_schema, target)::regclass,
    get_shard_id_for_distribution_column(format('%I.%I', fired_schema, target)::regclass, customer));
end;
$$;

create or replace function installments_have_loans() returns trigger
language plpgsql as $$
declare
  customer bigint;
  missing record;
begin
  select min(customer_id) into customer from new_rows;
  if customer is null then
    return null;
  end if;
  execute format($q$
    select w.customer_id, w.loan_id
    from (select distinct customer_id, loan_id from new_rows) w
    where not exists (select 1 from %s l where l.customer_id = w.customer_id and l.id = w.loan_id)
    limit 1$q$, fenqi_colocated_relation(tg_table_name, tg_table_schema, 'installments', 'loans', customer))
    into missing;
  if missing.loan_id is not null then
    raise exception 'installments name loan % of customer %, which does not exist',
      missing.loan_id, missing.customer_id using errcode = '23503';
  end if;
  return null;
end;
$$;

create or replace function fenqi_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception '% on % refused: %', tg_op, tg_table_name, tg_argv[0] using errcode = '23503';
end;
$$;

alter table installments drop constraint installments_loan_id_fkey;

create trigger installments_have_loans after insert on installments
  referencing new table as new_rows for each statement execute function installments_have_loans();
create trigger installments_keep_their_loan before update of customer_id, loan_id on installments
  for each row when (new.customer_id is distinct from old.customer_id or new.loan_id is distinct from old.loan_id)
  execute function fenqi_refuse_change('an installment belongs to its loan for good');
create trigger loans_keep_their_key before update of customer_id, id on loans
  for each row when (new.customer_id is distinct from old.customer_id or new.id is distinct from old.id)
  execute function fenqi_refuse_change('a loan keeps its customer and id');
create trigger loans_never_deleted before delete on loans
  for each statement execute function fenqi_refuse_change('a loan is never deleted; it ends by its status');
