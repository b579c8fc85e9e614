/**
 * Every refusal of the domain layer carries a stable `code` so that the API can map it to an HTTP
 * status and the CLI to an exit code without parsing messages.
 */
export type DomainErrorCode =
  | 'INVALID_AMOUNT'
  | 'INVALID_RATE'
  | 'INVALID_DATE'
  | 'DATE_OUT_OF_RANGE'
  | 'INVALID_TERMS'
  | 'INVALID_PRODUCT'
  | 'ROUNDING_TOO_COARSE'
  | 'APR_CAP_EXCEEDED'
  | 'APR_NOT_FOUND'
  | 'TENOR_NOT_ALLOWED'
  | 'PRINCIPAL_OUT_OF_RANGE'
  | 'PRODUCT_INACTIVE'
  | 'PENALTY_OUTSTANDING'
  | 'NOTHING_PAST_DUE'
  | 'NOTHING_TO_RESCHEDULE';

export class DomainError extends Error {
  override name = 'DomainError';
  readonly code: DomainErrorCode;
  /** Machine-readable context (field names, limits); values are strings so it serialises to JSON. */
  readonly details: Readonly<Record<string, string>>;

  constructor(code: DomainErrorCode, message: string, details: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/**
 * An invariant of the money rules. It should never fire; when it does, a schedule would be wrong,
 * so we stop rather than hand it to a customer. Kept apart from DomainError: it is a bug, not input.
 */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
