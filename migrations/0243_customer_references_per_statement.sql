-- Settlement cost (issue 19, docs/flash.md): the last three foreign-key checks of a settled order,
-- one trigger and one look-up each: its order's customer, its loan's customer and its loan's
-- order. They are checked once per INSERT statement over its transition table, as the catalogue's
-- are (migration 0242), and hold from the other side because what the foreign keys guarded
-- against cannot happen:
--   * every inserted order names a customer that exists, every loan a customer and (a goods loan)
--     an order of that customer;
--   * customers and orders are never deleted and keep their keys; an order keeps its customer and
--     a loan its order (a loan's customer and id are kept already, migration 0240).
-- Other tables' foreign keys to customers (off the settlement path) stay as they are.
--
-- On Citus customers, orders and loans are co-located: the check reads the shards of the
-- statement's customers on the same node (fenqi_colocated_relation, migration 0240).

-- tables already distributed (an existing Citus database) accept a trigger only with this on;
-- elsewhere it is an unused setting
set local citus.enable_unsafe_triggers = on;

-- Arguments: the table the trigger is on, then (columns, referenced table, referenced columns)
-- for each key checked, column lists comma-separated. Every key in the inserted rows (new_rows)
-- must exist in its customer's shard; a key with a null in it names nothing (as MATCH SIMPLE).
create or replace function fenqi_colocated_keys_exist() returns trigger
language plpgsql as $$
declare
  customer bigint;
  i integer := 1;
  cols text[];
  refs text[];
  matched text;
  present text;
  missing text;
begin
  select min(customer_id) into customer from new_rows;
  if customer is null then
    return null;
  end if;
  while i < tg_nargs loop
    cols := string_to_array(tg_argv[i], ',');
    refs := string_to_array(tg_argv[i + 2], ',');
    select string_agg(format('t.%I = w.%I', refs[k], cols[k]), ' and '),
           string_agg(format('w.%I is not null', cols[k]), ' and ')
      into matched, present from generate_subscripts(cols, 1) k;
    execute format('select row(w.*)::text from (select distinct %s from new_rows) w
      where %s and not exists (select 1 from %s t where %s) limit 1',
      (select string_agg(format('%I', c), ', ') from unnest(cols) c), present,
      fenqi_colocated_relation(tg_table_name, tg_table_schema, tg_argv[0], tg_argv[i + 1], customer), matched)
      into missing;
    if missing is not null then
      raise exception '% names % % in %, which does not exist', tg_argv[0], tg_argv[i], missing, tg_argv[i + 1]
        using errcode = '23503';
    end if;
    i := i + 3;
  end loop;
  return null;
end;
$$;

alter table orders drop constraint orders_customer_id_fkey;
alter table loans drop constraint loans_customer_id_fkey, drop constraint loans_order_id_fkey;

create trigger orders_customer_exists after insert on orders
  referencing new table as new_rows for each statement
  execute function fenqi_colocated_keys_exist('orders', 'customer_id', 'customers', 'id');
create trigger loans_customer_and_order_exist after insert on loans
  referencing new table as new_rows for each statement
  execute function fenqi_colocated_keys_exist('loans', 'customer_id', 'customers', 'id',
    'customer_id,order_id', 'orders', 'customer_id,id');

create trigger orders_keep_their_key before update of customer_id, id on orders
  for each row when (new.customer_id is distinct from old.customer_id or new.id is distinct from old.id)
  execute function fenqi_refuse_change('an order keeps its customer and id');
create trigger orders_never_deleted before delete on orders
  for each statement execute function fenqi_refuse_change('an order is never deleted; it ends by its status');
create trigger loans_keep_their_order before update of order_id on loans
  for each row when (new.order_id is distinct from old.order_id)
  execute function fenqi_refuse_change('a loan keeps its order');
create trigger customers_never_deleted before delete on customers
  for each statement execute function fenqi_refuse_change('a customer is never deleted');
create trigger customers_keep_their_id before update of id on customers
  for each row when (new.id is distinct from old.id) execute function fenqi_refuse_change('a customer keeps its id');
