-- Every variable-length field of a hot table gets a declared bound (docs/schema-conventions.md:
-- "no large fields in hot tables"), so no row of the tables a sale or a decision touches grows
-- without review. Each bound is far above what fenqi writes (API limits, digests, codes), so no
-- existing row or request fails it. NOT VALID: adding the constraints takes a brief lock and checks
-- new rows only; 0091 validates the old rows without blocking writes.
alter table customers
  add constraint customers_phone_enc_bound check (octet_length(phone_enc) <= 1024) not valid,
  add constraint customers_legal_name_enc_bound check (octet_length(legal_name_enc) <= 1024) not valid,
  add constraint customers_national_id_enc_bound check (octet_length(national_id_enc) <= 1024) not valid,
  add constraint customers_bank_card_enc_bound check (octet_length(bank_card_enc) <= 1024) not valid,
  add constraint customers_phone_bidx_bound check (octet_length(phone_bidx) <= 64) not valid,
  add constraint customers_national_id_bidx_bound check (octet_length(national_id_bidx) <= 64) not valid,
  add constraint customers_password_hash_bound check (octet_length(password_hash) <= 512) not valid;
alter table credit_lines
  add constraint credit_lines_currency_bound check (octet_length(currency) <= 8) not valid;
alter table orders
  add constraint orders_idempotency_key_bound check (octet_length(idempotency_key) <= 256) not valid,
  add constraint orders_reject_reason_bound check (octet_length(reject_reason) <= 1024) not valid;
alter table loans
  add constraint loans_currency_bound check (octet_length(currency) <= 8) not valid,
  add constraint loans_apr_percent_bound check (octet_length(apr_percent) <= 32) not valid;
alter table disbursements
  add constraint disbursements_currency_bound check (octet_length(currency) <= 8) not valid,
  add constraint disbursements_failure_reason_bound check (octet_length(failure_reason) <= 4096) not valid,
  add constraint disbursements_gateway_reference_bound check (octet_length(gateway_reference) <= 256) not valid;
alter table journal_entries
  add constraint journal_entries_event_key_bound check (octet_length(event_key) <= 512) not valid,
  add constraint journal_entries_kind_bound check (octet_length(kind) <= 64) not valid;
alter table journal_lines
  add constraint journal_lines_account_code_bound check (octet_length(account_code) <= 64) not valid;
alter table idempotency_keys
  add constraint idempotency_keys_scope_bound check (octet_length(scope) <= 128) not valid,
  add constraint idempotency_keys_key_bound check (octet_length(key) <= 256) not valid,
  add constraint idempotency_keys_request_hash_bound check (octet_length(request_hash) <= 64) not valid,
  add constraint idempotency_keys_response_bound check (pg_column_size(response) <= 65536) not valid;
alter table credit_decisions
  add constraint credit_decisions_inputs_bound check (pg_column_size(inputs) <= 65536) not valid,
  add constraint credit_decisions_result_bound check (pg_column_size(result) <= 65536) not valid;
