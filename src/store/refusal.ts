/**
 * A business refusal from the lending store (no credit, frozen line, unknown goods...): a stable
 * code the API maps to a status (api/error-codes.ts) and a queue worker records as the reason an
 * order was rejected.
 */
export type RefusalCode =
  | 'NO_CREDIT_LINE'
  | 'CREDIT_LINE_FROZEN'
  | 'INSUFFICIENT_CREDIT'
  | 'LIMIT_BELOW_USED'
  | 'CUSTOMER_NOT_FOUND'
  | 'CUSTOMER_NOT_ACTIVE'
  | 'CUSTOMER_PAST_DUE'
  | 'GOODS_NOT_FOUND'
  | 'GOODS_INACTIVE'
  | 'MERCHANT_SUSPENDED'
  | 'PRODUCT_NOT_FOUND'
  | 'PRODUCT_KIND_MISMATCH'
  | 'PRODUCT_NOT_ZERO_DOWN'
  | 'BANK_CARD_REQUIRED'
  | 'LOAN_NOT_FOUND'
  // automatic debit (issue 16)
  | 'CARD_NOT_FOUND'
  | 'CARD_REQUIRED'
  | 'LOAN_NOT_ACTIVE'
  | 'OVERPAYMENT'
  | 'OVERPAYMENT_TOO_LARGE'
  | 'LIMIT_OUT_OF_RANGE'
  | 'PROPOSAL_NOT_FOUND'
  | 'PROPOSAL_ALREADY_DECIDED'
  | 'PROPOSAL_PENDING'
  | 'OWN_PROPOSAL'
  // loan servicing (issue 15)
  | 'REPAYMENT_NOT_FOUND'
  | 'REPAYMENT_ALREADY_REVERSED'
  | 'CORRECTION_EXCEEDS_LINE'
  | 'ORDER_NOT_RETURNABLE'
  | 'RETURN_WINDOW_CLOSED'
  | 'RETURN_EXCEEDS_ORDER'
  | 'INVALID_RETURN_AMOUNT'
  | 'INSTALLMENT_NOT_FOUND'
  | 'WAIVER_EXCEEDS_OUTSTANDING'
  | 'NOTHING_TO_CHARGE'
  | 'CREDIT_BALANCE_TOO_LOW'
  | 'SCHEDULE_CHANGED'
  | 'SCHEDULE_CHANGE_NOT_SUPPORTED'
  // the loan agreement (issue 17): accepted, current, these terms, once
  | 'AGREEMENT_REQUIRED'
  | 'AGREEMENT_NOT_FOUND'
  | 'AGREEMENT_OUTDATED'
  | 'AGREEMENT_MISMATCH'
  | 'AGREEMENT_ALREADY_USED';

export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}
