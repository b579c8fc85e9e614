-- Validates the checks 0100, 0111 and 0115 added NOT VALID, each in this migration's own
-- transaction: validation takes only a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on.
alter table staff validate constraint staff_role_check;
alter table repayments validate constraint repayment_reversal_complete;
