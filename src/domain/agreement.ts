/**
 * The loan agreement a borrower accepts before an order or a cash draw (issue 17). The platform
 * names the version it currently requires; the app shows the text of that version from its own
 * catalogue (web/app/messages.js) and sends the version with a SHA-256 of what it showed. An
 * acceptance of another version is refused: the borrower is asked to read the current one.
 */
export const CURRENT_AGREEMENT_VERSION = '2026-12';
/** Longest version name stored (migration 0200). */
export const AGREEMENT_VERSION_MAX_LENGTH = 32;
/** The hash of the text shown: SHA-256 as 64 lowercase hex characters. */
export const AGREEMENT_TEXT_SHA256_PATTERN = '^[0-9a-f]{64}$';
/** Acceptances a customer's page lists, newest first. */
export const AGREEMENT_ACCEPTANCES_LISTED = 20;

/** What an acceptance covers: one product and tenor, and either the goods or the cash amount. */
export interface AgreementTerms {
  productId: bigint;
  tenor: number;
  goodsId: bigint | null;
  amountMinor: bigint | null;
}

/** True when an acceptance's terms are the terms of the order or draw that uses it. */
export function coversTerms(accepted: AgreementTerms, asked: AgreementTerms): boolean {
  return (
    accepted.productId === asked.productId &&
    accepted.tenor === asked.tenor &&
    accepted.goodsId === asked.goodsId &&
    accepted.amountMinor === asked.amountMinor
  );
}
