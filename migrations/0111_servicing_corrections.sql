-- Corrections of the repayment history (issue 15): a payment's value date (backdated by staff), its
-- reversal (bounced or misapplied; the row stays, reversal entries undo it), and each installment's
-- interest as scheduled, so a loan can be replayed from its schedule after a payoff lowered it.
alter table repayments add column value_date date;
alter table repayments add column status text not null default 'posted'
  check (status in ('posted', 'reversed'));
alter table repayments add column reversed_on date;
alter table repayments add column reversal_reason text
  check (reversal_reason in ('bounced', 'misapplied'));
-- NOT VALID: checked for new rows at once; 0116 validates the existing ones in its own transaction.
alter table repayments add constraint repayment_reversal_complete
  check ((status = 'reversed') = (reversed_on is not null and reversal_reason is not null)) not valid;

-- null: the same as interest_minor (never lowered by a payoff waiver)
alter table installments add column scheduled_interest_minor bigint check (scheduled_interest_minor >= 0);
