-- Registration as one statement (issue 20): claims the phone's and the national id's blind indexes
-- in customer_identities and inserts the customer, atomically, without the caller holding a
-- transaction open. A taken identity raises unique_violation naming customer_identities_phone or
-- customer_identities_national_id, and nothing is written. On Citus the function runs on the
-- coordinator and its two inserts commit together (two-phase commit across shards).
create or replace function fenqi_register_customer(
  customer bigint, phone_bidx_in bytea, national_id_bidx_in bytea, phone_enc_in bytea,
  national_id_enc_in bytea, legal_name_enc_in bytea, bank_card_enc_in bytea, password_hash_in text
) returns bigint
language plpgsql as $$
declare
  claimed text[];
begin
  with c as (
    insert into customer_identities (bidx, kind, customer_id)
    values (phone_bidx_in, 'phone', customer), (national_id_bidx_in, 'national_id', customer)
    on conflict (bidx, kind) do nothing
    returning kind
  )
  select coalesce(array_agg(kind), '{}') into claimed from c;
  if not 'phone' = any(claimed) then
    raise exception 'phone already registered' using errcode = '23505', constraint = 'customer_identities_phone';
  end if;
  if not 'national_id' = any(claimed) then
    raise exception 'national id already registered'
      using errcode = '23505', constraint = 'customer_identities_national_id';
  end if;
  insert into customers (id, phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc,
                         bank_card_enc, password_hash)
  values (customer, phone_enc_in, phone_bidx_in, national_id_enc_in, national_id_bidx_in, legal_name_enc_in,
          bank_card_enc_in, password_hash_in);
  return customer;
end;
$$;
