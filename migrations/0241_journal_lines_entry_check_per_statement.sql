-- Settlement cost (issue 19, docs/flash.md): the foreign key from journal lines to their entry was
-- checked once per line, a trigger and a look-up of journal_entries per line. The ledger's
-- per-statement check (migrations 0042, 0103) already reads every entry the statement wrote lines
-- for; it now also proves that the entry exists under the lines' customer, once per entry. Entries
-- are append-only (migration 0041: never updated or deleted), so an entry that exists when its
-- lines are written exists for good, and no lock is needed. Lines are append-only too, so the
-- check on INSERT is the whole of what the foreign key checked.
--
-- The check groups lines by (customer, entry), as the foreign key matched them. The index on
-- (customer_id, entry_id), kept for that foreign key, goes: the index on entry_id finds an entry's
-- lines (entry ids are unique) for the check and for every reader.

-- tables already distributed (an existing Citus database) accept a trigger only with this on;
-- elsewhere it is an unused setting
set local citus.enable_unsafe_triggers = on;

create or replace function journal_lines_balance_per_statement() returns trigger
language plpgsql as $$
declare
  customer bigint;
  bad record;
begin
  select min(customer_id) into customer from new_lines;
  if customer is null then
    return null;
  end if;
  execute format($q$
    select n.customer_id, n.entry_id, n.debits, n.credits, n.lines, n.stored, n.entry_found
    from (
      select customer_id, entry_id, sum(debit_minor) as debits, sum(credit_minor) as credits, count(*) as lines,
        (select count(*) from %I.%I j where j.entry_id = new_lines.entry_id
           and j.customer_id = new_lines.customer_id) as stored,
        exists (select 1 from %s e where e.customer_id = new_lines.customer_id
           and e.id = new_lines.entry_id) as entry_found
      from new_lines group by customer_id, entry_id
    ) n
    where n.debits <> n.credits or n.lines < 2 or n.stored <> n.lines or not n.entry_found
    limit 1$q$, tg_table_schema, tg_table_name,
    fenqi_colocated_relation(tg_table_name, tg_table_schema, 'journal_lines', 'journal_entries', customer))
    into bad;
  if bad.entry_id is not null and not bad.entry_found then
    raise exception 'journal lines name entry % of customer %, which does not exist', bad.entry_id, bad.customer_id
      using errcode = '23503';
  end if;
  if bad.entry_id is not null then
    raise exception 'journal entry % does not balance or is not written whole: debits % credits % in % lines (% stored)',
      bad.entry_id, bad.debits, bad.credits, bad.lines, bad.stored using errcode = '23514';
  end if;
  return null;
end;
$$;

alter table journal_lines drop constraint journal_lines_entry_id_fkey;
-- squawk-ignore require-concurrent-index-deletion
drop index journal_lines_customer_entry_idx;
