/**
 * /v1/products: the loan products catalogue. Anyone reads what is offered; risk and ops staff see
 * everything and write. Every write goes through the domain's validateProduct, which refuses a
 * contradictory product with all of its problems at once. Reads are cache-aside (TTL, jitter,
 * single-flight); a write drops the product's key and bumps a generation that every cached list
 * page carries in its key, so no list outlives a write for more than a racing read's TTL.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { MAX_WRITE_OFF_DPD } from '../../domain/delinquency-policy.ts';
import {
  BASES,
  BP_PER_PERCENT,
  bpFromPercent,
  DEFAULT_ALLOCATION_ORDER,
  DomainError,
  FREQUENCY_UNITS,
  type FrequencyUnit,
  formatAmount,
  INTEREST_RECALCULATIONS,
  type LoanProduct,
  MAX_DECIMALS,
  MAX_EVERY,
  MAX_RATE_BP,
  MAX_TENOR,
  METHODS,
  PRODUCT_KINDS,
  parseAmount,
  percentFromBp,
  RATE_PERS,
  ROUNDING_MODES,
  UPFRONT_FEE_MODES,
  validateProduct,
} from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import type { TransactionSql } from '../../store/db.ts';
import {
  type CatalogRow,
  createCatalogProduct,
  deactivateCatalogProduct,
  getCatalogRow,
  isProductCodeTaken,
  PRODUCT_PAGE_DEFAULT,
  PRODUCT_PAGE_MAX,
  replaceCatalogProduct,
} from '../../store/product-catalog.ts';
import { productFromRow } from '../../store/products.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { type Principal, requireRole } from '../auth.ts';
import { type ApiError, refuse } from '../errors.ts';
import type { Api } from '../types.ts';
import { IdString, idFromPath } from './ids.ts';
import { nextCursor, Page } from './page.ts';

export const PRODUCT_CODE_MAX_LENGTH = 64;
export const PRODUCT_NAME_MAX_LENGTH = 200;
export const PRODUCT_TENORS_MAX = 24;
/** Longest span a schedule may cover, last due date from the start: fifty years. */
export const TERM_MAX_DAYS = 50 * 366;
/** Decimal amounts: at most this many whole digits, so a typed amount stays far inside bigint. */
export const AMOUNT_MAX_WHOLE_DIGITS = 15;
export const MULTIPLE_MAX_MINOR = 1_000_000_000;
/** Highest nominal rate a product may carry, in percent (the domain's own bound). */
export const RATE_MAX_PERCENT = MAX_RATE_BP / BP_PER_PERCENT;

const STAFF_ROLES = ['risk', 'ops'] as const;
const isStaff = (principal: Principal | undefined): boolean =>
  principal !== undefined && (STAFF_ROLES as readonly string[]).includes(principal.role);

/** A non-negative decimal amount in major units, e.g. "12000.00"; no more decimals than the currency. */
export const AmountString = Type.String({
  pattern: `^\\d{1,${AMOUNT_MAX_WHOLE_DIGITS}}(\\.\\d{1,${MAX_DECIMALS}})?$`,
  maxLength: AMOUNT_MAX_WHOLE_DIGITS + 1 + MAX_DECIMALS,
  description: 'a decimal amount in major units, e.g. "12000.00"',
});

/** A percentage to the basis point: "24", "18.5", "0.05". */
const BpPercent = Type.String({
  pattern: '^\\d{1,5}(\\.\\d{1,2})?$',
  maxLength: 8,
  description: 'a percentage with at most two decimals, e.g. "24" or "0.05"',
});

const enumOf = <T extends string>(values: readonly T[], description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );

const Currency = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
    decimals: Type.Integer({ minimum: 0, maximum: MAX_DECIMALS }),
  },
  { additionalProperties: false },
);

const ProductBody = Type.Object(
  {
    code: Type.String({
      pattern: `^[A-Za-z0-9][A-Za-z0-9._-]{0,${PRODUCT_CODE_MAX_LENGTH - 1}}$`,
      description: 'unique, e.g. CASH-STD',
    }),
    name: Type.String({ minLength: 1, maxLength: PRODUCT_NAME_MAX_LENGTH }),
    kind: enumOf(PRODUCT_KINDS),
    currency: Type.Optional(Currency),
    tenors: Type.Array(Type.Integer({ minimum: 1, maximum: MAX_TENOR }), {
      minItems: 1,
      maxItems: PRODUCT_TENORS_MAX,
      description: 'installment counts offered, after any down payment',
    }),
    rate: BpPercent,
    rate_per: Type.Optional(enumOf(RATE_PERS)),
    method: Type.Optional(enumOf(METHODS)),
    every: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EVERY })),
    unit: Type.Optional(enumOf(FREQUENCY_UNITS)),
    basis: Type.Optional(enumOf(BASES)),
    rounding: Type.Optional(enumOf(ROUNDING_MODES)),
    multiple: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MULTIPLE_MAX_MINOR,
        description: 'round to multiples of minor units',
      }),
    ),
    down_payment_percent: Type.Optional(BpPercent),
    fees: Type.Optional(
      Type.Object(
        {
          upfront: Type.Optional(
            Type.Object(
              {
                amount: Type.Optional(AmountString),
                percent: Type.Optional(BpPercent),
                mode: Type.Optional(enumOf(UPFRONT_FEE_MODES)),
              },
              { additionalProperties: false },
            ),
          ),
          installment: Type.Optional(
            Type.Object(
              { amount: Type.Optional(AmountString), percent: Type.Optional(BpPercent) },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    grace_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    late_fee: Type.Optional(
      Type.Object(
        {
          amount: Type.Optional(AmountString),
          percent_per_day: Type.Optional(BpPercent),
          percent_once: Type.Optional(BpPercent),
          cap: Type.Optional(Type.Union([AmountString, Type.Null()])),
        },
        { additionalProperties: false },
      ),
    ),
    allocation_order: Type.Optional(
      Type.Array(enumOf(DEFAULT_ALLOCATION_ORDER), {
        minItems: 1,
        maxItems: DEFAULT_ALLOCATION_ORDER.length,
      }),
    ),
    write_off_dpd: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: MAX_WRITE_OFF_DPD }), Type.Null()]),
    ),
    bucket_max_dpd: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: MAX_WRITE_OFF_DPD }), { minItems: 3, maxItems: 3 }),
    ),
    interest_recalculation: Type.Optional(enumOf(INTEREST_RECALCULATIONS)),
    apr_cap_percent: Type.Optional(BpPercent),
    min_principal: Type.Optional(AmountString),
    max_principal: Type.Optional(AmountString),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ProductBody = Static<typeof ProductBody>;

export const ProductView = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  currency: Type.Object({ code: Type.String(), decimals: Type.Integer() }),
  tenors: Type.Array(Type.Integer()),
  rate: Type.String({ description: 'percent' }),
  rate_per: Type.String(),
  method: Type.String(),
  every: Type.Integer(),
  unit: Type.String(),
  basis: Type.String(),
  rounding: Type.String(),
  multiple: Type.Integer(),
  down_payment_percent: Type.String(),
  fees: Type.Object({
    upfront: Type.Object({ amount: Type.String(), percent: Type.String(), mode: Type.String() }),
    installment: Type.Object({ amount: Type.String(), percent: Type.String() }),
  }),
  grace_days: Type.Integer(),
  late_fee: Type.Object({
    amount: Type.String(),
    percent_per_day: Type.String(),
    percent_once: Type.String(),
    cap: Type.Union([Type.String(), Type.Null()]),
  }),
  allocation_order: Type.Array(Type.String()),
  write_off_dpd: Type.Union([Type.Integer(), Type.Null()]),
  bucket_max_dpd: Type.Array(Type.Integer()),
  interest_recalculation: Type.String(),
  apr_cap_percent: Type.String(),
  min_principal: Type.String(),
  max_principal: Type.String(),
  active: Type.Boolean(),
  version: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type ProductView = Static<typeof ProductView>;

export function productView(row: CatalogRow): ProductView {
  const p = productFromRow(row);
  const money = (minor: bigint) => formatAmount(minor, p.currency.decimals);
  return {
    id: row.id.toString(),
    code: p.code,
    name: p.name,
    kind: p.kind,
    currency: { code: p.currency.code, decimals: p.currency.decimals },
    tenors: [...p.tenors],
    rate: percentFromBp(p.rateBp),
    rate_per: p.ratePer,
    method: p.method,
    every: p.every,
    unit: p.unit,
    basis: p.basis,
    rounding: p.roundingMode,
    multiple: Number(p.multipleMinor),
    down_payment_percent: percentFromBp(p.downPaymentBp),
    fees: {
      upfront: {
        amount: money(p.upfrontFeeMinor),
        percent: percentFromBp(p.upfrontFeeBp),
        mode: p.upfrontFeeMode,
      },
      installment: { amount: money(p.installmentFeeMinor), percent: percentFromBp(p.installmentFeeBp) },
    },
    grace_days: p.graceDays,
    late_fee: {
      amount: money(p.lateFee.fixedMinor),
      percent_per_day: percentFromBp(p.lateFee.bpPerDay),
      percent_once: percentFromBp(p.lateFee.onceBp ?? 0),
      cap: p.lateFee.capMinor === null ? null : money(p.lateFee.capMinor),
    },
    allocation_order: [...p.allocationOrder],
    write_off_dpd: p.writeOffDpd,
    bucket_max_dpd: [...p.bucketMaxDpd],
    interest_recalculation: p.interestRecalculation,
    apr_cap_percent: percentFromBp(p.aprCapBp),
    min_principal: money(p.minPrincipalMinor),
    max_principal: money(p.maxPrincipalMinor),
    active: p.active,
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Longest calendar span of `periods` periods, to bound how far a schedule may reach. */
export function termDays(periods: number, every: number, unit: FrequencyUnit): number {
  return periods * every * (unit === 'month' ? 31 : unit === 'week' ? 7 : 1);
}

/** Domain field names as the API spells them, so a problem names the field the caller sent. */
const API_FIELD_NAMES: readonly [RegExp, string][] = (
  [
    ['lateFee.capMinor', 'late_fee.cap'],
    ['lateFee.fixedMinor', 'late_fee.amount'],
    ['lateFee.bpPerDay', 'late_fee.percent_per_day'],
    ['lateFee.onceBp', 'late_fee.percent_once'],
    ['minPrincipalMinor', 'min_principal'],
    ['maxPrincipalMinor', 'max_principal'],
    ['upfrontFeeMinor', 'fees.upfront.amount'],
    ['upfrontFeeBp', 'fees.upfront.percent'],
    ['upfrontFeeMode', 'fees.upfront.mode'],
    ['installmentFeeMinor', 'fees.installment.amount'],
    ['installmentFeeBp', 'fees.installment.percent'],
    ['allocationOrder', 'allocation_order'],
    ['downPaymentBp', 'down_payment_percent'],
    ['multipleMinor', 'multiple'],
    ['roundingMode', 'rounding'],
    ['graceDays', 'grace_days'],
    ['writeOffDpd', 'write_off_dpd'],
    ['bucketMaxDpd', 'bucket_max_dpd'],
    ['interestRecalculation', 'interest_recalculation'],
    ['aprCapBp', 'apr_cap_percent'],
    ['ratePer', 'rate_per'],
    ['rateBp', 'rate'],
  ] as const
).map(([domain, api]) => [new RegExp(`\\b${domain.replace('.', '\\.')}\\b`, 'g'), api]);

function apiWording(problem: string): string {
  return API_FIELD_NAMES.reduce((text, [pattern, api]) => text.replace(pattern, api), problem);
}

/** The problems a DomainError lists (validateProduct joins them with "; "). */
function problemsOf(err: DomainError): string[] {
  const listed = err.details.problems;
  return listed ? listed.split('; ') : [err.message.replace(/^invalid product: /, '')];
}

/** A DomainError as the API's 422, in the API's field names. */
export function domainRefusal(err: DomainError): ApiError {
  if (err.code === 'INVALID_PRODUCT') return invalidProduct(problemsOf(err));
  const details: Record<string, unknown> = { ...err.details };
  return refuse(err.code, apiWording(err.message), details);
}

function invalidProduct(problems: string[]): ApiError {
  const listed = problems.map(apiWording);
  return refuse('INVALID_PRODUCT', `invalid product: ${listed.join('; ')}`, { problems: listed });
}

/**
 * The body as the domain's product input, or 422 INVALID_PRODUCT listing every problem: those found
 * here (amounts with too many decimals, percentages out of range, a term beyond the bound) and
 * those validateProduct finds, together.
 */
export function productFromBody(body: ProductBody): LoanProduct {
  const problems: string[] = [];
  const decimals = body.currency?.decimals ?? 2;
  const minor = (field: string, text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseAmount(text, decimals).toString();
    } catch {
      problems.push(`${field} has more than ${decimals} decimal places`);
      return '0';
    }
  };
  const bp = (field: string, text: string | undefined, maxPercent: number, below = false) => {
    if (text === undefined) return undefined;
    const value = bpFromPercent(text);
    const maxBp = maxPercent * BP_PER_PERCENT;
    if (below ? value >= maxBp : value > maxBp) {
      problems.push(`${field} must be ${below ? 'below' : 'at most'} ${maxPercent}%`);
      return 0;
    }
    return value;
  };
  const every = body.every ?? 1;
  const unit = body.unit ?? 'month';
  // A tenor beyond the bound is reported here and kept from the domain's schedule check, which
  // would otherwise quote it; the other fields are still checked there.
  const tenors = body.tenors.filter((t) => termDays(t, every, unit) <= TERM_MAX_DAYS);
  if (tenors.length < body.tenors.length) {
    problems.push(`tenors must end within ${TERM_MAX_DAYS} days of the start at every ${every} ${unit}`);
  }
  const aprCapBp = bp('apr_cap_percent', body.apr_cap_percent, RATE_MAX_PERCENT);
  if (aprCapBp === 0) problems.push('apr_cap_percent must be above 0');
  const input = {
    code: body.code,
    name: body.name,
    kind: body.kind,
    currency: body.currency,
    tenors: tenors.length > 0 ? tenors : [1],
    rateBp: bp('rate', body.rate, RATE_MAX_PERCENT),
    ratePer: body.rate_per,
    method: body.method,
    every: body.every,
    unit: body.unit,
    basis: body.basis,
    roundingMode: body.rounding,
    multipleMinor: body.multiple,
    downPaymentBp: bp('down_payment_percent', body.down_payment_percent, 100, true),
    upfrontFeeMinor: minor('fees.upfront.amount', body.fees?.upfront?.amount),
    upfrontFeeBp: bp('fees.upfront.percent', body.fees?.upfront?.percent, 100),
    upfrontFeeMode: body.fees?.upfront?.mode,
    installmentFeeMinor: minor('fees.installment.amount', body.fees?.installment?.amount),
    installmentFeeBp: bp('fees.installment.percent', body.fees?.installment?.percent, 100),
    graceDays: body.grace_days,
    lateFee: {
      fixedMinor: minor('late_fee.amount', body.late_fee?.amount),
      bpPerDay: bp('late_fee.percent_per_day', body.late_fee?.percent_per_day, 100),
      onceBp: bp('late_fee.percent_once', body.late_fee?.percent_once, 100),
      capMinor: body.late_fee?.cap === null ? null : minor('late_fee.cap', body.late_fee?.cap),
    },
    allocationOrder: body.allocation_order,
    writeOffDpd: body.write_off_dpd,
    bucketMaxDpd: body.bucket_max_dpd,
    interestRecalculation: body.interest_recalculation,
    aprCapBp: aprCapBp === 0 ? undefined : aprCapBp,
    minPrincipalMinor: minor('min_principal', body.min_principal),
    maxPrincipalMinor: minor('max_principal', body.max_principal),
    active: body.active,
  };
  return validated(input, problems);
}

/** The domain's product, or one 422 listing the body's own problems and the domain's together. */
function validated(input: Parameters<typeof validateProduct>[0], problems: string[]): LoanProduct {
  try {
    const product = validateProduct(input);
    if (problems.length > 0) throw invalidProduct(problems);
    return product;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    if (problems.length === 0) throw domainRefusal(err);
    throw invalidProduct([
      ...problems,
      ...(err.code === 'INVALID_PRODUCT' ? problemsOf(err) : [err.message]),
    ]);
  }
}

export const productNotFound = () => refuse('PRODUCT_NOT_FOUND', 'no such product');

const ProductList = Page(ProductView);

export function productRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app: Api) => {
    productReadRoutes(app, platform);
    productWriteRoutes(app, platform);
  };
}

/** The id, or 404: an id beyond bigint names nothing. */
function productIdOf(text: string): bigint {
  const id = idFromPath(text);
  if (id === undefined) throw productNotFound();
  return id;
}

/** The catalogue as anyone may read it; staff also see inactive products. */
function productReadRoutes(app: Api, platform: Platform): void {
  const reads = platform.services.products;
  app.get(
    '/v1/products',
    {
      schema: {
        tags: ['products'],
        summary: 'Products on offer (staff: every product), a page at a time by id',
        querystring: Type.Object(
          {
            kind: Type.Optional(enumOf(PRODUCT_KINDS)),
            limit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: PRODUCT_PAGE_MAX, default: PRODUCT_PAGE_DEFAULT }),
            ),
            cursor: Type.Optional(IdString),
          },
          { additionalProperties: false },
        ),
        response: { 200: ProductList },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? PRODUCT_PAGE_DEFAULT;
      const cursor = request.query.cursor;
      const afterId = cursor === undefined ? undefined : idFromPath(cursor);
      if (cursor !== undefined && afterId === undefined) return { items: [], next_cursor: null };
      const rows = await reads.page({
        kind: request.query.kind,
        activeOnly: !isStaff(request.principal),
        afterId,
        limit,
      });
      return {
        items: rows.map(productView),
        next_cursor: nextCursor(rows, limit, (r) => r.id),
      };
    },
  );

  app.get(
    '/v1/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'One product (an inactive one only for staff)',
        params: Type.Object({ id: IdString }),
        response: { 200: ProductView },
      },
    },
    async (request) => {
      const row = await reads.row(productIdOf(request.params.id));
      if (!row || (!row.active && !isStaff(request.principal))) throw productNotFound();
      return productView(row);
    },
  );
}

/** Create, replace and deactivate (risk and ops staff); each write drops the cached reads. */
function productWriteRoutes(app: Api, platform: Platform): void {
  const { db } = platform;
  const staffOnly = requireRole(...STAFF_ROLES);
  const written = async (row: CatalogRow | undefined): Promise<ProductView> => {
    if (!row) throw productNotFound();
    await platform.services.products.changed(row.id);
    return productView(row);
  };
  app.post(
    '/v1/products',
    {
      preHandler: staffOnly,
      schema: {
        tags: ['products'],
        summary: 'Create a product (risk or ops staff); refused with every problem when contradictory',
        security: [{ bearer: [] }],
        body: ProductBody,
        response: { 201: ProductView },
      },
    },
    async (request, reply) => {
      const product = productFromBody(request.body);
      let row: CatalogRow;
      try {
        row = await db.sql.begin(async (tx) => {
          const made = await createCatalogProduct(tx, product);
          await auditProduct(tx, request.principal!, 'product_created', undefined, made);
          return made;
        });
      } catch (err) {
        if (isProductCodeTaken(err)) throw codeTaken(product.code);
        throw err;
      }
      reply.status(201);
      return written(row);
    },
  );

  app.put(
    '/v1/products/:id',
    {
      preHandler: staffOnly,
      schema: {
        tags: ['products'],
        summary: 'Replace every term of a product (risk or ops staff); its version goes up by one',
        security: [{ bearer: [] }],
        params: Type.Object({ id: IdString }),
        body: ProductBody,
        response: { 200: ProductView },
      },
    },
    async (request) => {
      const id = productIdOf(request.params.id);
      const product = productFromBody(request.body);
      try {
        return await written(
          await db.sql.begin(async (tx) => {
            const before = await getCatalogRow(tx, id);
            assertRecalculationKept(before, product);
            const after = await replaceCatalogProduct(tx, id, product);
            if (after) await auditProduct(tx, request.principal!, 'product_replaced', before, after);
            return after;
          }),
        );
      } catch (err) {
        if (isProductCodeTaken(err)) throw codeTaken(product.code);
        throw err;
      }
    },
  );

  app.post(
    '/v1/products/:id/deactivate',
    {
      preHandler: staffOnly,
      schema: {
        tags: ['products'],
        summary: 'Stop offering a product (risk or ops staff); existing loans are unaffected',
        security: [{ bearer: [] }],
        params: Type.Object({ id: IdString }),
        response: { 200: ProductView },
      },
    },
    async (request) => {
      const id = productIdOf(request.params.id);
      return written(
        await db.sql.begin(async (tx) => {
          const before = await getCatalogRow(tx, id);
          const after = await deactivateCatalogProduct(tx, id);
          if (after) await auditProduct(tx, request.principal!, 'product_deactivated', before, after);
          return after;
        }),
      );
    },
  );
}

/**
 * A product's loans are booked and reprocessed under its interest recalculation option; switching
 * it under them would replay a loan by rules it was not booked by, so the option is fixed at creation.
 */
function assertRecalculationKept(before: CatalogRow | undefined, product: LoanProduct): void {
  if (!before) return;
  const was = before.terms.interestRecalculation ?? 'none';
  if (was !== product.interestRecalculation) {
    throw refuse(
      'INTEREST_RECALCULATION_FIXED',
      'interest_recalculation is fixed when the product is created',
      {
        interest_recalculation: String(was),
      },
    );
  }
}

/** Product changes are staff actions: one audit row each, in the change's transaction. */
async function auditProduct(
  tx: TransactionSql,
  actor: Principal,
  action: string,
  before: CatalogRow | undefined,
  after: CatalogRow,
): Promise<void> {
  await recordStaffAction(tx, {
    actor,
    action,
    recordType: 'product',
    recordId: after.id.toString(),
    before: before ?? null,
    after,
  });
}

const codeTaken = (code: string) =>
  refuse('PRODUCT_CODE_TAKEN', `a product with code ${code} already exists`, { code });
