/**
 * Every error code the API answers with and its HTTP status, in one table (as Fastify's own
 * lib/errors.js does for its codes). A refusal anywhere — a money rule in the domain (DomainError),
 * a business state in the store (Refusal), a route's own check — carries only its code; the status
 * comes from here, so a code means the same status on every route. TypeScript keeps the table
 * complete: a DomainError or Refusal code missing here does not compile.
 *
 * 400: the request's shape; 401/403: who is asking; 404: what does not exist; 409: a state that
 * forbids it now; 422: well-formed but refused by a rule; 429: slow down; 503: retry shortly.
 */
import type { DomainErrorCode } from '../domain/errors.ts';
import type { CobRefusalCode } from '../store/cob.ts';
import type { RefusalCode } from '../store/refusal.ts';

/** Money rules: the request was well-formed but cannot be honoured. */
const DOMAIN: Record<DomainErrorCode, 422> = {
  INVALID_AMOUNT: 422,
  INVALID_RATE: 422,
  INVALID_DATE: 422,
  DATE_OUT_OF_RANGE: 422,
  INVALID_TERMS: 422,
  INVALID_PRODUCT: 422,
  ROUNDING_TOO_COARSE: 422,
  APR_CAP_EXCEEDED: 422,
  APR_NOT_FOUND: 422,
  TENOR_NOT_ALLOWED: 422,
  PRINCIPAL_OUT_OF_RANGE: 422,
  PRODUCT_INACTIVE: 422,
  PENALTY_OUTSTANDING: 422,
  NOTHING_PAST_DUE: 422,
  NOTHING_TO_RESCHEDULE: 422,
};

/** Business refusals of the lending store (and of the queue worker, as an order's reason). */
const STORE: Record<RefusalCode, 403 | 404 | 409 | 422> = {
  NO_CREDIT_LINE: 422,
  CREDIT_LINE_FROZEN: 422,
  INSUFFICIENT_CREDIT: 422,
  LIMIT_BELOW_USED: 409,
  CUSTOMER_NOT_FOUND: 404,
  CUSTOMER_NOT_ACTIVE: 422,
  CUSTOMER_PAST_DUE: 422,
  GOODS_NOT_FOUND: 404,
  GOODS_INACTIVE: 422,
  MERCHANT_SUSPENDED: 422,
  PRODUCT_NOT_FOUND: 404,
  PRODUCT_KIND_MISMATCH: 422,
  PRODUCT_NOT_ZERO_DOWN: 422,
  BANK_CARD_REQUIRED: 422,
  LOAN_NOT_FOUND: 404,
  CARD_NOT_FOUND: 404,
  CARD_REQUIRED: 409,
  LOAN_NOT_ACTIVE: 409,
  OVERPAYMENT: 422,
  OVERPAYMENT_TOO_LARGE: 422,
  LIMIT_OUT_OF_RANGE: 422,
  PROPOSAL_NOT_FOUND: 404,
  PROPOSAL_ALREADY_DECIDED: 409,
  PROPOSAL_PENDING: 409,
  OWN_PROPOSAL: 403,
  REPAYMENT_NOT_FOUND: 404,
  REPAYMENT_ALREADY_REVERSED: 409,
  CORRECTION_EXCEEDS_LINE: 409,
  SCHEDULE_CHANGED: 409,
  SCHEDULE_CHANGE_NOT_SUPPORTED: 409,
  ORDER_NOT_RETURNABLE: 409,
  RETURN_WINDOW_CLOSED: 422,
  RETURN_EXCEEDS_ORDER: 422,
  INVALID_RETURN_AMOUNT: 422,
  INSTALLMENT_NOT_FOUND: 404,
  WAIVER_EXCEEDS_OUTSTANDING: 422,
  NOTHING_TO_CHARGE: 409,
  CREDIT_BALANCE_TOO_LOW: 422,
  AGREEMENT_REQUIRED: 422,
  AGREEMENT_NOT_FOUND: 404,
  AGREEMENT_OUTDATED: 409,
  AGREEMENT_MISMATCH: 422,
  AGREEMENT_ALREADY_USED: 409,
};

/** Close of business refusals: the book's state forbids this close now. */
const COB: Record<CobRefusalCode, 409> = {
  DATE_BEFORE_LAST_CLOSE: 409,
  OTHER_RUN_INCOMPLETE: 409,
  INVALID_COB_OPTIONS: 409,
};

/** The request's shape: framework checks, schema validation and what routes parse themselves. */
const REQUEST = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNSTORABLE_TEXT: 400,
  DUPLICATE_JSON_KEY: 400,
  BAD_CONTENT_LENGTH: 400,
  MALFORMED_URL: 400,
  BODY_TOO_LARGE: 413,
  URL_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
  CUSTOMER_ID_REQUIRED: 400,
  QUOTE_FORM_INCOMPLETE: 400,
  QUOTE_FORM_CONFLICT: 400,
  REPLAY_TARGET_CONFLICT: 400,
  REPLAY_TARGET_REQUIRED: 400,
  /** A date range whose start is after its end, or longer than the lists allow. */
  DATE_RANGE_INVALID: 400,
  ROUTE_NOT_FOUND: 404,
} as const;

const IDENTITY = {
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  ROLE_NOT_GRANTABLE: 403,
} as const;

const MISSING = {
  NOT_FOUND: 404,
  POLICY_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  DENY_LIST_ENTRY_NOT_FOUND: 404,
} as const;

const CONFLICTS = {
  IDEMPOTENCY_KEY_REUSED: 409,
  PHONE_TAKEN: 409,
  NATIONAL_ID_TAKEN: 409,
  USERNAME_TAKEN: 409,
  SKU_TAKEN: 409,
  PRODUCT_CODE_TAKEN: 409,
  INTEREST_RECALCULATION_FIXED: 409,
  POLICY_ALREADY_ACTIVE: 409,
  MODEL_IS_CHAMPION: 409,
  REVIEW_ALREADY_RESOLVED: 409,
} as const;

/** Route rules: the body is well-formed but a field's value is refused. */
const RULES = {
  INVALID_PHONE: 422,
  /** Forgot-password: the code is wrong, expired, spent or unknown (one answer for all). */
  INVALID_CODE: 422,
  INVALID_NATIONAL_ID: 422,
  INVALID_LEGAL_NAME: 422,
  INVALID_BANK_CARD: 422,
  INVALID_USERNAME: 422,
  INVALID_NAME: 422,
  INVALID_GOODS: 422,
  INVALID_PRICE: 422,
  AMOUNT_TOO_LARGE: 422,
  TERM_TOO_LONG: 422,
  INCOME_OUT_OF_RANGE: 422,
  AMOUNT_OUT_OF_RANGE: 422,
  POLICY_INVALID: 422,
  NOT_REPLAYABLE: 422,
  LINE_REQUIRED: 422,
  LINE_NOT_ALLOWED: 422,
  LINE_OUT_OF_RANGE: 422,
  REASON_REQUIRED: 422,
  REASON_NOT_ALLOWED: 422,
  DISBURSEMENT_FAILED: 422,
} as const;

/** Loan servicing (issue 15): the business clock, corrections, returns, charges, collections. */
const SERVICING = {
  BUSINESS_CLOCK_NOT_MANUAL: 409,
  TRANSACTION_DATE_IN_FUTURE: 422,
  TRANSACTION_DATE_OUT_OF_WINDOW: 422,
  WRITE_OFF_DATE_NOT_ALLOWED: 422,
  DATE_NOT_AHEAD: 422,
  PROMISE_INCOMPLETE: 422,
} as const;

/** Rehearsal traffic (issue 21, docs/rehearsal.md): refused, never passed on to production. */
const REHEARSAL = {
  REHEARSAL_TAG_INVALID: 403,
  REHEARSAL_TAG_EXPIRED: 403,
  REHEARSAL_TAG_REPLAYED: 409,
  REHEARSAL_NOT_OPEN: 409,
  REHEARSAL_NOT_AWARE: 403,
} as const;

const THROTTLED = {
  RATE_LIMITED: 429,
  TOO_MANY_ATTEMPTS: 429,
} as const;

/** A part that cannot answer right now: the caller's cue to retry (with Retry-After). */
const OUTAGES = {
  QUEUE_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  AUTH_UNAVAILABLE: 503,
  REHEARSAL_UNAVAILABLE: 503,
  OVERLOADED: 503,
  ORDER_STATUS_UNKNOWN: 503,
  INTERNAL: 500,
} as const;

export const ERROR_STATUS = {
  ...DOMAIN,
  ...STORE,
  ...COB,
  ...REQUEST,
  ...IDENTITY,
  ...MISSING,
  ...CONFLICTS,
  ...RULES,
  ...SERVICING,
  ...REHEARSAL,
  ...THROTTLED,
  ...OUTAGES,
};

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
