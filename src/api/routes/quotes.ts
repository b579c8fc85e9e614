/**
 * POST /v1/quotes: a repayment schedule and its APR, before anyone registers. Two forms, exactly
 * one per request: a stored product (`product_id`, with the product's tenors, principal range and
 * APR cap enforced), or every term inline with the names of `fenqi quote`'s flags, answered with
 * the same JSON as `fenqi quote --json`. Public, so every input is bounded and each caller is
 * rate limited.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { keyTags } from '../../cache/keys.ts';
import { hit, type RateLimitRule } from '../../cache/rate-limit.ts';
import {
  BASES,
  buildSchedule,
  checkAprCap,
  DomainError,
  FREQUENCY_UNITS,
  MAX_DECIMALS,
  MAX_EVERY,
  MAX_TENOR,
  METHODS,
  minorPerMajor,
  parseAmount,
  parsePercent,
  type QuoteJson,
  quote,
  RATE_PERS,
  ROUNDING_MODES,
  type Schedule,
  scheduleToJson,
  UPFRONT_FEE_MODES,
} from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { productFromRow } from '../../store/products.ts';
import { refuse } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';
import {
  AmountString,
  domainRefusal,
  MULTIPLE_MAX_MINOR,
  productNotFound,
  TERM_MAX_DAYS,
  termDays,
} from './products.ts';

/** Largest principal or fee an inline quote takes, in major units (a billion yuan). */
export const QUOTE_AMOUNT_MAX_MAJOR = 1_000_000_000n;
/** Quotes one caller (by address) may ask for per window; a shopper needs a handful. */
export const QUOTE_RATE_LIMIT: RateLimitRule = { name: 'quotes', limit: 120, windowMs: 60_000 };

/** A percentage as `fenqi quote` takes it: "24", "1.5", "0.05" (at most 12 decimals). */
const Percent = Type.String({
  pattern: '^\\d{1,6}(\\.\\d{1,12})?$',
  maxLength: 19,
  description: 'a non-negative percentage, e.g. "24" or "0.6"',
});
const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const enumOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

const QuoteBody = Type.Object(
  {
    product_id: Type.Optional({ ...IdString, description: 'quote a stored product (then no inline terms)' }),
    principal: { ...AmountString, description: 'price or cash amount before any down payment' },
    tenor: Type.Integer({
      minimum: 1,
      maximum: MAX_TENOR,
      description: 'installments after any down payment',
    }),
    start_date: Type.Optional({
      ...DateString,
      description: 'product form: start date (default today, UTC)',
    }),
    rate: Type.Optional({ ...Percent, description: 'inline form (required there): nominal rate in percent' }),
    rate_per: Type.Optional(enumOf(RATE_PERS)),
    method: Type.Optional(enumOf(METHODS)),
    every: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EVERY })),
    unit: Type.Optional(enumOf(FREQUENCY_UNITS)),
    basis: Type.Optional(enumOf(BASES)),
    start: Type.Optional({ ...DateString, description: 'inline form: start date (default today, UTC)' }),
    rounding: Type.Optional(enumOf(ROUNDING_MODES)),
    decimals: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_DECIMALS })),
    multiple: Type.Optional(Type.Integer({ minimum: 1, maximum: MULTIPLE_MAX_MINOR })),
    down_payment_percent: Type.Optional(Percent),
    upfront_fee: Type.Optional(AmountString),
    upfront_fee_percent: Type.Optional(Percent),
    upfront_fee_mode: Type.Optional(enumOf(UPFRONT_FEE_MODES)),
    installment_fee: Type.Optional(AmountString),
    installment_fee_percent: Type.Optional(Percent),
    apr_cap_percent: Type.Optional({ ...Percent, description: 'inline form: refuse above this APR' }),
  },
  { additionalProperties: false },
);
type QuoteBody = Static<typeof QuoteBody>;

/** Fields that belong to one form only; principal and tenor belong to both. */
const PRODUCT_ONLY = ['product_id', 'start_date'] as const;
const INLINE_ONLY = Object.keys(QuoteBody.properties).filter(
  (k) => !['principal', 'tenor', ...PRODUCT_ONLY].includes(k),
);

const Money = Type.String({ description: 'decimal amount in the currency' });
const QuoteAnswer = Type.Object({
  product_id: Type.Optional(Type.String()),
  start_date: Type.String(),
  down_payment: Money,
  upfront_fee: Money,
  amount_financed: Money,
  installments: Type.Array(
    Type.Object({
      number: Type.Integer(),
      due_date: Type.String(),
      principal: Money,
      interest: Money,
      fee: Money,
      total: Money,
      balance: Money,
    }),
  ),
  total_interest: Money,
  total_fees: Money,
  total_payable: Money,
  apr: Type.String({ description: 'annual percentage rate by IRR, percent with two decimals' }),
});

/** Runs domain code, turning its refusals into the API's 422 with the same code. */
function domain<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof DomainError) throw domainRefusal(err);
    throw err;
  }
}

function inlineSchedule(body: QuoteBody, today: string): Schedule {
  if (body.rate === undefined) {
    throw refuse('QUOTE_FORM_INCOMPLETE', 'give product_id, or rate with the other terms inline', {
      missing: ['product_id', 'rate'],
    });
  }
  const decimals = body.decimals ?? 2;
  const maxMinor = QUOTE_AMOUNT_MAX_MAJOR * minorPerMajor(decimals);
  const amount = (field: string, text: string | undefined): bigint => {
    if (text === undefined) return 0n;
    const minor = domain(() => parseAmount(text, decimals));
    if (minor > maxMinor) {
      throw refuse('AMOUNT_TOO_LARGE', `${field} must be at most ${QUOTE_AMOUNT_MAX_MAJOR}`, {
        field,
        max: QUOTE_AMOUNT_MAX_MAJOR.toString(),
      });
    }
    return minor;
  };
  const percent = (text: string | undefined) => domain(() => parsePercent(text ?? '0'));
  const every = body.every ?? 1;
  const unit = body.unit ?? 'month';
  if (termDays(body.tenor, every, unit) > TERM_MAX_DAYS) {
    throw refuse('TERM_TOO_LONG', `the schedule must end within ${TERM_MAX_DAYS} days of the start`, {
      max_days: String(TERM_MAX_DAYS),
    });
  }
  const schedule = domain(() =>
    buildSchedule({
      principalMinor: amount('principal', body.principal),
      rate: { fraction: percent(body.rate), per: body.rate_per ?? 'year' },
      tenor: body.tenor,
      startDate: body.start ?? today,
      method: body.method ?? 'annuity',
      frequency: { every, unit },
      basis: body.basis ?? '30/360',
      rounding: { mode: body.rounding ?? 'half-up', decimals, multipleMinor: BigInt(body.multiple ?? 1) },
      downPayment: percent(body.down_payment_percent),
      fees: {
        upfrontMinor: amount('upfront_fee', body.upfront_fee),
        upfrontRate: percent(body.upfront_fee_percent),
        upfrontMode: body.upfront_fee_mode ?? 'deducted',
        installmentMinor: amount('installment_fee', body.installment_fee),
        installmentRate: percent(body.installment_fee_percent),
      },
    }),
  );
  // Like `fenqi quote --apr-cap`: without a product a cap applies only when one is given.
  if (body.apr_cap_percent !== undefined) {
    const cap = percent(body.apr_cap_percent);
    domain(() => checkAprCap(schedule, cap));
  }
  return schedule;
}

export function quoteRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const reads = platform.services.products;

  const productQuote = async (
    body: QuoteBody,
    productId: string,
  ): Promise<QuoteJson & { product_id: string }> => {
    const id = idFromPath(productId);
    const row = id === undefined ? undefined : await reads.row(id);
    if (!row) throw productNotFound();
    // A stored product is re-validated on read; one that today's rules refuse is refused here too.
    const product = domain(() => productFromRow(row));
    const startDate = body.start_date ?? (await platform.services.clock.today());
    const schedule = domain(() =>
      quote(product, {
        principalMinor: parseAmount(body.principal, product.currency.decimals),
        tenor: body.tenor,
        startDate,
      }),
    );
    return { product_id: row.id.toString(), ...scheduleToJson(schedule) };
  };

  return async (app) => {
    app.post(
      '/v1/quotes',
      {
        schema: {
          tags: ['quotes'],
          summary: 'A repayment schedule and APR: for a product (product_id) or from inline terms',
          description:
            'Exactly one form: `product_id` + `principal` + `tenor` (+ `start_date`), or `principal`, ' +
            '`rate`, `tenor` and the other terms of `fenqi quote` inline (+ `start`). The answer is ' +
            'the JSON of `fenqi quote --json`, with `product_id` when a product was quoted.',
          body: QuoteBody,
          response: { 200: QuoteAnswer },
        },
      },
      async (request): Promise<QuoteJson & { product_id?: string }> => {
        const limited = await hit(platform.cache, QUOTE_RATE_LIMIT, keyTags.address(request.ip));
        if (!limited.allowed) {
          throw refuse(
            'RATE_LIMITED',
            'too many quotes from this address; try again shortly',
            { retry_after_s: limited.retryAfterS },
            { 'retry-after': String(limited.retryAfterS) },
          );
        }
        const body = request.body;
        const present = (fields: readonly string[]) =>
          fields.filter((f) => (body as Record<string, unknown>)[f] !== undefined);
        if (body.product_id !== undefined) {
          const inline = present(INLINE_ONLY);
          if (inline.length > 0) {
            throw refuse(
              'QUOTE_FORM_CONFLICT',
              `a product quote takes no inline terms: ${inline.join(', ')}`,
              {
                fields: inline,
              },
            );
          }
          return productQuote(body, body.product_id);
        }
        const productOnly = present(PRODUCT_ONLY);
        if (productOnly.length > 0) {
          throw refuse(
            'QUOTE_FORM_CONFLICT',
            `${productOnly.join(', ')} is for product quotes; an inline quote takes start`,
            { fields: productOnly },
          );
        }
        return scheduleToJson(inlineSchedule(body, await platform.services.clock.today()));
      },
    );
  };
}
