/**
 * `fenqi rehearse plan`: opens a rehearsal and fills the shadow schema with the people and goods
 * its load will use. The shape comes from production (credit line sizes, merchants' goods and
 * prices), never a person: every shadow customer gets a made-up phone, national id and name, and
 * merchants are renamed. Production is only read; every write goes through the shadow role.
 */
import { randomInt } from 'node:crypto';
import { setCreditLine } from '../store/credit-lines.ts';
import type { FieldCrypto } from '../store/crypto.ts';
import { createCustomer, nationalIdCheckChar } from '../store/customers.ts';
import type { Queryable, Sql } from '../store/db.ts';
import { createGoods } from '../store/goods.ts';
import { createMerchant } from '../store/merchants.ts';
import { ensureDefaultProducts } from '../store/products.ts';
import { openRehearsal } from '../store/rehearsals.ts';

/** Bounds on a plan: the shadow side is for load, not a copy of production. */
export const MAX_PLAN_CUSTOMERS = 200_000;
/** At most this many production credit lines are sampled for their sizes. */
export const PLAN_SAMPLE_MAX = 10_000;
export const PLAN_MERCHANTS_MAX = 20;
export const PLAN_GOODS_PER_MERCHANT_MAX = 20;
/** Used when production has no credit line to take a size from. */
export const SYNTHETIC_LIMIT_MINOR = 20_000_00n;
const SYNTHETIC_PRICE_MINOR = 2_999_00n;
const IDENTITY_RETRIES = 5;
/** Shadow customers never log in (their tokens are minted by the run): not a valid password hash. */
const NO_PASSWORD = '!rehearsal';
/** The goods product orders are placed on, and its tenor. */
export const REHEARSAL_PRODUCT_CODE = 'GOODS-0DOWN';
export const REHEARSAL_TENOR = 12;

export interface PlanOptions {
  id: string;
  size: number;
  targetOrdersPerS: number;
  closesAt: Date;
}

export interface PlanSummary {
  rehearsalId: string;
  customers: number;
  limitsFromProduction: number;
  merchants: number;
  goods: number;
}

export class PlanRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanRefused';
  }
}

/** Production's credit line sizes, at most PLAN_SAMPLE_MAX, in random order: numbers only. */
async function sampleLimits(prod: Queryable, size: number): Promise<bigint[]> {
  const rows = await prod<{ limit_minor: bigint }[]>`
    select limit_minor from credit_lines where status = 'active' and limit_minor > 0
    order by random() limit ${Math.min(size, PLAN_SAMPLE_MAX)}`;
  return rows.map((r) => BigInt(r.limit_minor));
}

async function copyCatalogue(prod: Queryable, shadow: Sql): Promise<{ merchants: number; goods: number }> {
  const merchants = await prod<{ id: bigint }[]>`
    select id from merchants where status = 'active' order by id limit ${PLAN_MERCHANTS_MAX}`;
  const sources = merchants.length > 0 ? merchants.map((m) => m.id) : [undefined];
  let goods = 0;
  for (const [n, source] of sources.entries()) {
    const { merchant } = await createMerchant(shadow, `演练商户 ${n + 1}`);
    const items =
      source === undefined
        ? [{ sku: 'R-1', name: 'Phone', price_minor: SYNTHETIC_PRICE_MINOR }]
        : await prod<{ sku: string; name: string; price_minor: bigint }[]>`
            select sku, name, price_minor from goods where merchant_id = ${source} and active
            order by id limit ${PLAN_GOODS_PER_MERCHANT_MAX}`;
    for (const item of items) {
      const made = await createGoods(shadow, merchant.id, {
        sku: item.sku,
        name: item.name,
        priceMinor: BigInt(item.price_minor),
      });
      if (made.ok) goods += 1;
    }
  }
  return { merchants: sources.length, goods };
}

function syntheticIdentity(n: number) {
  const first17 = `110101199001${String(randomInt(100_000)).padStart(5, '0')}`;
  return {
    phone: `199${String(randomInt(100_000_000)).padStart(8, '0')}`,
    nationalId: first17 + nationalIdCheckChar(first17),
    legalName: `演练用户${n}`,
    passwordHash: NO_PASSWORD,
  };
}

async function createShadowCustomer(shadow: Sql, crypto: FieldCrypto, n: number, limitMinor: bigint) {
  for (let attempt = 0; attempt < IDENTITY_RETRIES; attempt++) {
    const made = await createCustomer(shadow, crypto, syntheticIdentity(n));
    if (!made.ok) continue; // a made-up phone or id collided with an earlier one: draw again
    await shadow.begin((tx) => setCreditLine(tx, made.id, { limitMinor }));
    return;
  }
  throw new PlanRefused(`could not find a free made-up identity in ${IDENTITY_RETRIES} draws`);
}

export async function planRehearsal(
  prod: Queryable,
  shadow: { sql: Sql; crypto: FieldCrypto },
  options: PlanOptions,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<PlanSummary> {
  if (!Number.isInteger(options.size) || options.size < 1 || options.size > MAX_PLAN_CUSTOMERS) {
    throw new PlanRefused(`--size must be 1 to ${MAX_PLAN_CUSTOMERS}`);
  }
  const opened = await openRehearsal(shadow.sql, options);
  if (!opened) throw new PlanRefused(`rehearsal ${options.id} exists already; clean it or choose another id`);
  await ensureDefaultProducts(shadow.sql);
  const catalogue = await copyCatalogue(prod, shadow.sql);
  const limits = await sampleLimits(prod, options.size);
  for (let n = 0; n < options.size; n++) {
    const limitMinor = limits.length > 0 ? limits[n % limits.length]! : SYNTHETIC_LIMIT_MINOR;
    await createShadowCustomer(shadow.sql, shadow.crypto, n + 1, limitMinor);
    if ((n + 1) % 100 === 0 || n + 1 === options.size) onProgress(n + 1, options.size);
  }
  return {
    rehearsalId: options.id,
    customers: options.size,
    limitsFromProduction: Math.min(limits.length, options.size),
    ...catalogue,
  };
}

/** What a run sends orders for: the shadow schema's customers with a line, and its goods. */
export async function shadowTargets(shadow: Queryable) {
  const customers = await shadow<{ customer_id: bigint }[]>`
    select customer_id from credit_lines where status = 'active' order by customer_id`;
  const goods = await shadow<{ id: bigint; product_id: bigint }[]>`
    select g.id, p.id as product_id from goods g, loan_products p
    where g.active and p.code = ${REHEARSAL_PRODUCT_CODE} order by g.id`;
  return {
    customers: customers.map((c) => c.customer_id),
    goods: goods.map((g) => ({ goodsId: g.id, productId: g.product_id, tenor: REHEARSAL_TENOR })),
  };
}
