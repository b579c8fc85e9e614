/**
 * The one rule deciding whether an installment order of goods may be taken: called by the sale-day
 * intake on cached figures (api/routes/orders-queued.ts), by the synchronous path
 * (store/orders.ts `settleOrder`) and by the batch settler (store/order-batch.ts) with the credit
 * line locked. Pure: the callers read the facts, this decides.
 */
import { DomainError, type DomainErrorCode } from './errors.ts';
import type { ProductKind } from './product.ts';
import type { Schedule } from './schedule.ts';

export type OrderRefusalCode =
  | 'GOODS_NOT_FOUND'
  | 'PRODUCT_NOT_FOUND'
  | 'CUSTOMER_NOT_FOUND'
  | 'CUSTOMER_NOT_ACTIVE'
  | 'CUSTOMER_PAST_DUE'
  | 'GOODS_INACTIVE'
  | 'MERCHANT_SUSPENDED'
  | 'PRODUCT_KIND_MISMATCH'
  | 'PRODUCT_NOT_ZERO_DOWN'
  | 'NO_CREDIT_LINE'
  | 'CREDIT_LINE_FROZEN'
  | 'INSUFFICIENT_CREDIT'
  | DomainErrorCode;

export interface OrderRefusal {
  readonly ok: false;
  readonly code: OrderRefusalCode;
  readonly message: string;
  readonly details: Readonly<Record<string, string>>;
  /** The order cannot even be recorded as rejected: its goods, product or customer do not exist. */
  readonly unrecordable: boolean;
}

/** Accepted; `schedule` is the priced loan when the facts could price it (not at intake). */
export type OrderCheck = { readonly ok: true; readonly schedule: Schedule | null } | OrderRefusal;

/** A fact left undefined is not known where the check runs: whoever settles the order decides it. */
export interface OrderGoodsFacts {
  readonly priceMinor: bigint;
  readonly active?: boolean;
  readonly merchantStatus?: string;
}
export interface OrderProductFacts {
  readonly kind: ProductKind | string;
  readonly tenors: readonly number[];
  readonly downPaymentBp?: number;
}
export interface CreditLineFacts {
  readonly limitMinor: bigint;
  readonly usedMinor: bigint;
  readonly status: string;
}

/**
 * What is known of an order where it is checked; null says "does not exist". The intake knows
 * neither the customer's status nor a price schedule, and leaves the goods' availability to the
 * settler: a cached "inactive" must not refuse a sale that opens at midnight.
 */
export interface OrderFacts {
  readonly tenor: number;
  readonly goods: OrderGoodsFacts | null;
  readonly product: OrderProductFacts | null;
  /** The customer's status; undefined when not known (intake). */
  readonly customerStatus?: string | null;
  /** The most days any of the customer's active loans is past due; undefined when not known (intake). */
  readonly daysPastDue?: number;
  readonly line: CreditLineFacts | null;
  /**
   * Prices the order (the schedule, or the DomainError refusing it). Without it the tenor is checked
   * against the product's list and the goods price stands for the amount financed (zero down).
   */
  readonly quote?: () => Schedule | DomainError;
}

const refuse = (
  code: OrderRefusalCode,
  message: string,
  details: Record<string, string> = {},
  unrecordable = false,
): OrderRefusal => ({ ok: false, code, message, details, unrecordable });

/** The goods, product and customer exist and may trade now. */
function checkParties(f: OrderFacts): OrderRefusal | undefined {
  if (!f.goods) return refuse('GOODS_NOT_FOUND', 'no such goods', {}, true);
  if (!f.product) return refuse('PRODUCT_NOT_FOUND', 'no such product', {}, true);
  if (f.customerStatus === null) return refuse('CUSTOMER_NOT_FOUND', 'no such customer', {}, true);
  if (f.customerStatus !== undefined && f.customerStatus !== 'active')
    return refuse('CUSTOMER_NOT_ACTIVE', 'the customer is not active');
  // new credit is not extended while a payment is late: the borrower pays what is due first
  if (f.daysPastDue !== undefined && f.daysPastDue > 0)
    return refuse('CUSTOMER_PAST_DUE', 'the customer has a payment past due', {
      days_past_due: String(f.daysPastDue),
    });
  if (f.goods.active === false) return refuse('GOODS_INACTIVE', 'the goods are not for sale');
  if (f.goods.merchantStatus !== undefined && f.goods.merchantStatus !== 'active')
    return refuse('MERCHANT_SUSPENDED', 'the merchant is suspended');
  if (f.product.kind !== 'goods')
    return refuse('PRODUCT_KIND_MISMATCH', 'orders need a goods product', { kind: f.product.kind });
  return undefined;
}

/** The line can carry `amountMinor` more: it exists, is active, and stays within its limit. */
function checkCredit(line: CreditLineFacts | null, amountMinor: bigint): OrderRefusal | undefined {
  if (!line) return refuse('NO_CREDIT_LINE', 'the customer has no credit line');
  if (line.status !== 'active') return refuse('CREDIT_LINE_FROZEN', 'the credit line is frozen');
  if (line.usedMinor + amountMinor > line.limitMinor) {
    return refuse('INSUFFICIENT_CREDIT', 'not enough credit available', {
      available_minor: (line.limitMinor - line.usedMinor).toString(),
      requested_minor: amountMinor.toString(),
    });
  }
  return undefined;
}

/** Whether the order may be taken, and on what schedule; the first rule that says no, in order. */
export function checkOrder(facts: OrderFacts): OrderCheck {
  const parties = checkParties(facts);
  if (parties) return parties;
  const goods = facts.goods as OrderGoodsFacts;
  const product = facts.product as OrderProductFacts;
  let schedule: Schedule | null = null;
  // without a quote (intake's pre-check) the financed amount is the price less the down payment,
  // rounded down: never below what the schedule will finance
  let amountMinor = goods.priceMinor - (goods.priceMinor * BigInt(product.downPaymentBp ?? 0)) / 10_000n;
  if (facts.quote) {
    const priced = facts.quote();
    if (priced instanceof DomainError) return refuse(priced.code, priced.message, { ...priced.details });
    schedule = priced;
    amountMinor = priced.amountFinancedMinor;
  } else if (!product.tenors.includes(facts.tenor)) {
    return refuse('TENOR_NOT_ALLOWED', 'the product does not offer this tenor', {
      tenors: product.tenors.join(','),
    });
  }
  return checkCredit(facts.line, amountMinor) ?? { ok: true, schedule };
}
