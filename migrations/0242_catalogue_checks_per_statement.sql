-- Settlement cost (issue 19, docs/flash.md): every settled order paid eight foreign-key checks
-- into the catalogue, one trigger and one look-up each: its order's merchant, goods and product,
-- its loan's product, and the account of each of its four journal lines. The same rules are now
-- checked once per statement, over the rows the statement inserted (a transition table), one
-- query per referenced table; and they hold from the other side by making what a foreign key
-- guards against impossible:
--   * every inserted order names a merchant, goods and product that exist, every loan a product,
--     every journal line an account;
--   * an order's merchant, goods and product and a loan's product never change (nothing changes
--     them; journal lines are append-only already, migration 0041);
--   * merchants, goods, loan products and ledger accounts are never deleted (they end by status:
--     a suspended merchant, goods and products made inactive) and their keys never change.
-- A catalogue row that exists can so never stop existing, and no lock is needed. Other tables'
-- foreign keys into the catalogue (off the settlement path) stay as they are.
--
-- On Citus the catalogue tables are reference tables, and the triggers of a distributed table
-- fire on each shard (migration 0103): the check reads the reference table's copy on the same
-- node, found through Citus's metadata.

-- tables already distributed (an existing Citus database) accept a trigger only with this on;
-- elsewhere it is an unused setting
set local citus.enable_unsafe_triggers = on;

-- A reference table as seen from a trigger on `fired_on`, which is `base` itself (one PostgreSQL,
-- PGlite) or one of its Citus shards: there, the reference table's own copy on this node.
create or replace function fenqi_reference_relation(fired_on name, fired_schema name, base name, target name)
returns text
language plpgsql stable as $$
declare
  rel regclass := format('%I.%I', fired_schema, target)::regclass;
begin
  if fired_on = base then
    return rel::text;
  end if;
  return shard_name(rel, (select shardid from pg_dist_shard where logicalrelid = rel));
end;
$$;

-- Arguments: the table the trigger is on, then (column, referenced table, referenced column)
-- for each key checked. Every value in the inserted rows (new_rows) must exist; nulls name nothing.
create or replace function fenqi_catalogue_keys_exist() returns trigger
language plpgsql as $$
declare
  i integer := 1;
  missing text;
begin
  while i < tg_nargs loop
    execute format('select w.v::text from (select distinct %I as v from new_rows) w
      where w.v is not null and not exists (select 1 from %s t where t.%I = w.v) limit 1',
      tg_argv[i], fenqi_reference_relation(tg_table_name, tg_table_schema, tg_argv[0], tg_argv[i + 1]),
      tg_argv[i + 2])
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

alter table orders drop constraint orders_merchant_id_fkey, drop constraint orders_goods_id_fkey,
  drop constraint orders_product_id_fkey;
alter table loans drop constraint loans_product_id_fkey;
alter table journal_lines drop constraint journal_lines_account_code_fkey;

create trigger orders_catalogue_exists after insert on orders
  referencing new table as new_rows for each statement
  execute function fenqi_catalogue_keys_exist('orders', 'merchant_id', 'merchants', 'id', 'goods_id', 'goods', 'id',
    'product_id', 'loan_products', 'id');
create trigger loans_product_exists after insert on loans
  referencing new table as new_rows for each statement
  execute function fenqi_catalogue_keys_exist('loans', 'product_id', 'loan_products', 'id');
create trigger journal_lines_account_exists after insert on journal_lines
  referencing new table as new_rows for each statement
  execute function fenqi_catalogue_keys_exist('journal_lines', 'account_code', 'ledger_accounts', 'code');

create trigger orders_keep_their_catalogue before update of merchant_id, goods_id, product_id on orders
  for each row when (new.merchant_id is distinct from old.merchant_id or new.goods_id is distinct from old.goods_id
    or new.product_id is distinct from old.product_id)
  execute function fenqi_refuse_change('an order keeps its merchant, goods and product');
create trigger loans_keep_their_product before update of product_id on loans
  for each row when (new.product_id is distinct from old.product_id)
  execute function fenqi_refuse_change('a loan keeps its product');

create trigger merchants_never_deleted before delete on merchants
  for each statement execute function fenqi_refuse_change('a merchant is never deleted; it is suspended');
create trigger merchants_keep_their_id before update of id on merchants
  for each row when (new.id is distinct from old.id) execute function fenqi_refuse_change('a merchant keeps its id');
create trigger goods_never_deleted before delete on goods
  for each statement execute function fenqi_refuse_change('goods are never deleted; they are made inactive');
create trigger goods_keep_their_id before update of id on goods
  for each row when (new.id is distinct from old.id) execute function fenqi_refuse_change('goods keep their id');
create trigger loan_products_never_deleted before delete on loan_products
  for each statement execute function fenqi_refuse_change('a loan product is never deleted; it is made inactive');
create trigger loan_products_keep_their_id before update of id on loan_products
  for each row when (new.id is distinct from old.id) execute function fenqi_refuse_change('a loan product keeps its id');
create trigger ledger_accounts_never_deleted before delete on ledger_accounts
  for each statement execute function fenqi_refuse_change('a ledger account is never deleted');
create trigger ledger_accounts_keep_their_code before update of code on ledger_accounts
  for each row when (new.code is distinct from old.code)
  execute function fenqi_refuse_change('a ledger account keeps its code');
