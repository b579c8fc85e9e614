-- The ledger's database checks, made to hold on Citus too (issue 20, docs/scaling.md). On Citus
-- the triggers of a distributed table fire on each shard, on the worker that holds it: there, a
-- query of journal_lines by name would be a distributed query from inside a shard's transaction,
-- which cannot see the rows the statement just wrote. So each check reads the relation the trigger
-- fired on (TG_TABLE_NAME: journal_lines on one PostgreSQL, journal_lines_102104 on a shard), and
-- the entry's check finds the co-located lines shard through Citus's metadata. An entry and all its
-- lines share the customer_id they are sharded by, so one shard holds everything a check reads.

-- The relation holding this customer's journal lines, seen from a trigger on `fired_on`.
create or replace function fenqi_journal_lines_relation(fired_on name, customer bigint) returns text
language plpgsql stable as $$
begin
  if fired_on in ('journal_entries', 'journal_lines') then
    return 'journal_lines';
  end if;
  -- a Citus shard: the journal_lines shard with this customer's hash range, on this same node
  return shard_name('journal_lines'::regclass,
    get_shard_id_for_distribution_column('journal_lines', customer));
end;
$$;

create or replace function journal_lines_balance_per_statement() returns trigger
language plpgsql as $$
declare
  bad record;
begin
  execute format($q$
    select n.entry_id, n.debits, n.credits, n.lines, n.stored
    from (
      select entry_id, sum(debit_minor) as debits, sum(credit_minor) as credits, count(*) as lines,
        (select count(*) from %I.%I j where j.entry_id = new_lines.entry_id
           and j.customer_id = min(new_lines.customer_id)) as stored
      from new_lines group by entry_id
    ) n
    where n.debits <> n.credits or n.lines < 2 or n.stored <> n.lines
    limit 1$q$, tg_table_schema, tg_table_name) into bad;
  if bad.entry_id is not null then
    raise exception 'journal entry % does not balance or is not written whole: debits % credits % in % lines (% stored)',
      bad.entry_id, bad.debits, bad.credits, bad.lines, bad.stored using errcode = '23514';
  end if;
  return null;
end;
$$;

create or replace function journal_entry_has_lines() returns trigger
language plpgsql as $$
declare
  found_lines boolean;
begin
  execute format('select exists (select 1 from %s where customer_id = $1 and entry_id = $2)',
    fenqi_journal_lines_relation(tg_table_name, new.customer_id))
    into found_lines using new.customer_id, new.id;
  if not found_lines then
    raise exception 'journal entry % has no lines', new.id using errcode = '23514';
  end if;
  return null;
end;
$$;
