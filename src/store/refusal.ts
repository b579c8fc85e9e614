/**
 * A business refusal from the lending store (no credit, frozen line, unknown goods...): a stable
 * code the API maps to a status and a queue worker records as the reason an order was rejected.
 */
export type RefusalCode =
  | 'NO_CREDIT_LINE'
  | 'CREDIT_LINE_FROZEN'
  | 'INSUFFICIENT_CREDIT'
  | 'LIMIT_BELOW_USED'
  | 'CUSTOMER_NOT_FOUND'
  | 'CUSTOMER_NOT_ACTIVE'
  | 'GOODS_NOT_FOUND'
  | 'GOODS_INACTIVE'
  | 'MERCHANT_SUSPENDED'
  | 'PRODUCT_NOT_FOUND'
  | 'PRODUCT_KIND_MISMATCH'
  | 'PRODUCT_NOT_ZERO_DOWN'
  | 'BANK_CARD_REQUIRED'
  | 'LOAN_NOT_FOUND'
  | 'LOAN_NOT_ACTIVE'
  | 'OVERPAYMENT'
  | 'OVERPAYMENT_TOO_LARGE';

/** 404 for what does not exist, 409 for a state that forbids it now, 422 for the rest. */
export const REFUSAL_STATUS: Record<RefusalCode, number> = {
  NO_CREDIT_LINE: 422,
  CREDIT_LINE_FROZEN: 422,
  INSUFFICIENT_CREDIT: 422,
  LIMIT_BELOW_USED: 409,
  CUSTOMER_NOT_FOUND: 404,
  CUSTOMER_NOT_ACTIVE: 422,
  GOODS_NOT_FOUND: 404,
  GOODS_INACTIVE: 422,
  MERCHANT_SUSPENDED: 422,
  PRODUCT_NOT_FOUND: 404,
  PRODUCT_KIND_MISMATCH: 422,
  PRODUCT_NOT_ZERO_DOWN: 422,
  BANK_CARD_REQUIRED: 422,
  LOAN_NOT_FOUND: 404,
  LOAN_NOT_ACTIVE: 409,
  OVERPAYMENT: 422,
  OVERPAYMENT_TOO_LARGE: 422,
};

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
