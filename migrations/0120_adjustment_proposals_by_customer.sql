-- Proposals for a staff charge or waiver (maker-checker, 0117) are the customer's, like their loans:
-- on Citus the table is distributed by customer_id (src/store/citus.ts CUSTOMER_TABLES), and a
-- primary key there must include the distribution column. Ids stay globally unique
-- (fenqi_next_id()), so (customer_id, id) admits exactly what (id) did; an index on id keeps the
-- approve/reject routes' look-up by id fast.
-- squawk-ignore adding-serial-primary-key-field, constraint-missing-not-valid
alter table adjustment_proposals drop constraint adjustment_proposals_pkey, add primary key (customer_id, id);
-- squawk-ignore require-concurrent-index-creation
create index adjustment_proposals_id_idx on adjustment_proposals (id);
