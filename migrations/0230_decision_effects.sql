-- A credit decision's effect on its customer, written by the statement that stores the decision
-- (issue 20, docs/scaling.md): an approval with a line sets the customer's credit line (never
-- below what is already used), a referral opens a risk review. It was the decision log's own
-- INSERT ... SELECT with two more inserts in CTEs; Citus runs such a statement in rounds through
-- the coordinator, touching every shard of the batch's customers. As a row trigger, the decision
-- log is one INSERT ... VALUES that Citus routes to the shard of its customers, and the trigger
-- writes on that same shard, in the same transaction. Rows of one statement fire in order, so the
-- later of two approvals for one customer sets the line.
--
-- On Citus the trigger fires on the shard, on the worker that holds it: there `credit_lines` by
-- name would be a distributed query from inside a shard's transaction, so it writes to the
-- co-located shards of credit_lines and risk_reviews, found through Citus's metadata (as the
-- ledger's checks read theirs, migration 0103).

-- tables already distributed (an existing Citus database) accept a trigger only with this on;
-- elsewhere it is an unused setting
set local citus.enable_unsafe_triggers = on;

create or replace function fenqi_decision_effects() returns trigger
language plpgsql as $$
begin
  if new.outcome = 'approve' and new.line_minor is not null then
    if tg_table_name = 'credit_decisions' then
      insert into credit_lines as l (customer_id, limit_minor) values (new.customer_id, new.line_minor)
      on conflict (customer_id) do update
        set limit_minor = greatest(excluded.limit_minor, l.used_minor), updated_at = excluded.updated_at;
    else
      execute format($q$
        insert into %s as l (customer_id, limit_minor) values ($1, $2)
        on conflict (customer_id) do update
          set limit_minor = greatest(excluded.limit_minor, l.used_minor), updated_at = excluded.updated_at$q$,
        shard_name('credit_lines'::regclass, get_shard_id_for_distribution_column('credit_lines', new.customer_id)))
        using new.customer_id, new.line_minor;
    end if;
  elsif new.outcome = 'refer' then
    if tg_table_name = 'credit_decisions' then
      insert into risk_reviews (decision_id, customer_id) values (new.id, new.customer_id);
    else
      execute format('insert into %s (decision_id, customer_id) values ($1, $2)',
        shard_name('risk_reviews'::regclass, get_shard_id_for_distribution_column('risk_reviews', new.customer_id)))
        using new.id, new.customer_id;
    end if;
  end if;
  return null;
end;
$$;

create trigger credit_decisions_effects after insert on credit_decisions
  for each row execute function fenqi_decision_effects();
