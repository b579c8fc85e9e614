/**
 * Demo data for the embedded mode: on the first start (no seed recorded yet) a newcomer gets
 * merchants with goods, one staff user per role, a merchant API key and a demo customer, and the
 * log-ins are printed once. Passwords are random per installation (and printed), never constants
 * someone could try against a deployment.
 *
 * Each seed records itself in seed_runs under its own name, in the same transaction as its rows,
 * so it runs exactly once even when two processes start together. Other parts add their own seed
 * (products, credit lines) the same way, taking the ids returned here.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatAmount, parseAmount } from '../domain/index.ts';
import { setCreditLine } from './credit-lines.ts';
import type { FieldCrypto } from './crypto.ts';
import { createCustomer, nationalIdCheckChar } from './customers.ts';
import type { Queryable, Sql } from './db.ts';
import { createGoods } from './goods.ts';
import { createMerchant } from './merchants.ts';
import { hashPassword } from './passwords.ts';
import { ensureDefaultProducts } from './products.ts';
import { createStaff } from './staff.ts';

export const IDENTITY_SEED_NAME = 'demo-identity-catalogue';
export const DEMO_LOGINS_FILE = 'demo-logins.txt';

export interface DemoLogin {
  id: bigint;
  login: string;
  password: string;
}

/** The demo customer's line: enough for a phone and a laptop, not for the whole shop. */
export const DEMO_CREDIT_LIMIT_MINOR = 20_000_00n;

export interface DemoCredentials {
  staff: Record<'risk' | 'ops' | 'admin', DemoLogin>;
  products: { code: string; id: bigint }[];
  creditLimitMinor: bigint;
  customer: DemoLogin;
  merchant: { id: bigint; name: string; apiKey: string };
  merchantIds: bigint[];
  goodsIds: bigint[];
}

interface DemoMerchant {
  name: string;
  goods: { sku: string; name: string; price: string }[];
}

const DEMO_MERCHANTS: DemoMerchant[] = [
  {
    name: 'Demo Electronics',
    goods: [
      { sku: 'PHONE-15', name: 'Smartphone 15, 256 GB', price: '5999.00' },
      { sku: 'LAPTOP-14', name: 'Laptop 14-inch', price: '7499.00' },
      { sku: 'EARBUDS-2', name: 'Wireless earbuds', price: '899.00' },
    ],
  },
  {
    name: 'Demo Home Appliances',
    goods: [
      { sku: 'FRIDGE-500', name: 'Refrigerator 500 L', price: '4299.00' },
      { sku: 'WASHER-10', name: 'Washing machine 10 kg', price: '2899.00' },
      { sku: 'VACUUM-X', name: 'Robot vacuum', price: '1999.00' },
    ],
  },
];

/** A made-up but well-formed resident id (Beijing Dongcheng, born 1990-01-01). */
const DEMO_NATIONAL_ID_17 = '11010119900101123';
const DEMO_PHONE = '13800138000';

function demoPassword(): string {
  return `demo-${randomBytes(9).toString('base64url')}`;
}

/** Records the seed; false when it has already run (here or in another process). */
async function claim(tx: Queryable, name: string): Promise<boolean> {
  const rows =
    await tx`insert into seed_runs (name) values (${name}) on conflict (name) do nothing returning name`;
  return rows.length === 1;
}

export async function seedDemo(sql: Sql, crypto: FieldCrypto): Promise<DemoCredentials | undefined> {
  const [done] = await sql`select 1 from seed_runs where name = ${IDENTITY_SEED_NAME}`;
  if (done) return undefined;

  const passwords = {
    risk: demoPassword(),
    ops: demoPassword(),
    admin: demoPassword(),
    customer: demoPassword(),
  };
  // argon2 is slow on purpose: hash before the transaction so it stays short.
  const [riskHash, opsHash, adminHash, customerHash] = await Promise.all([
    hashPassword(passwords.risk),
    hashPassword(passwords.ops),
    hashPassword(passwords.admin),
    hashPassword(passwords.customer),
  ]);

  return sql.begin(async (tx) => {
    if (!(await claim(tx, IDENTITY_SEED_NAME))) return undefined;
    const merchantIds: bigint[] = [];
    const goodsIds: bigint[] = [];
    let first: DemoCredentials['merchant'] | undefined;
    for (const demo of DEMO_MERCHANTS) {
      const { merchant, apiKey } = await createMerchant(tx, demo.name);
      merchantIds.push(merchant.id);
      first ??= { id: merchant.id, name: merchant.name, apiKey };
      for (const item of demo.goods) {
        const created = await createGoods(tx, merchant.id, {
          sku: item.sku,
          name: item.name,
          priceMinor: parseAmount(item.price, 2),
        });
        if (created.ok) goodsIds.push(created.goods.id);
      }
    }
    const risk = await createStaff(tx, { username: 'risk', role: 'risk', passwordHash: riskHash });
    const ops = await createStaff(tx, { username: 'ops', role: 'ops', passwordHash: opsHash });
    const admin = await createStaff(tx, { username: 'admin', role: 'admin', passwordHash: adminHash });
    const customer = await createCustomer(tx, crypto, {
      phone: DEMO_PHONE,
      nationalId: DEMO_NATIONAL_ID_17 + nationalIdCheckChar(DEMO_NATIONAL_ID_17),
      legalName: '演示用户',
      bankCard: '6222020200112233445',
      passwordHash: customerHash,
    });
    if (!risk.ok || !ops.ok || !admin.ok || !customer.ok || !first) {
      throw new Error('demo seed found identity rows already present; seed a fresh data directory');
    }
    const products = await ensureDefaultProducts(tx);
    await setCreditLine(tx, customer.id, { limitMinor: DEMO_CREDIT_LIMIT_MINOR, status: 'active' });
    const result: DemoCredentials = {
      staff: {
        risk: { id: risk.id, login: 'risk', password: passwords.risk },
        ops: { id: ops.id, login: 'ops', password: passwords.ops },
        admin: { id: admin.id, login: 'admin', password: passwords.admin },
      },
      customer: { id: customer.id, login: DEMO_PHONE, password: passwords.customer },
      products: [...products].map(([code, id]) => ({ code, id })),
      creditLimitMinor: DEMO_CREDIT_LIMIT_MINOR,
      merchant: first,
      merchantIds,
      goodsIds,
    };
    const ids = {
      merchant_ids: merchantIds.map(String),
      goods_ids: goodsIds.map(String),
      customer_id: String(customer.id),
    };
    await tx`update seed_runs set result = ${tx.json(ids)} where name = ${IDENTITY_SEED_NAME}`;
    return result;
  });
}

/**
 * The log-in lines `fenqi start` prints after the first start. They are also kept, readable by this
 * user only, next to the generated keys in the data directory, for whoever missed the output.
 */
export function formatDemoCredentials(demo: DemoCredentials, dataDir?: string): string {
  const file = dataDir && path.join(dataDir, DEMO_LOGINS_FILE);
  const text = [
    `demo log-ins (POST /v1/auth/login)${file ? `, also in ${file}` : ''}:`,
    `  customer  phone ${demo.customer.login}  password ${demo.customer.password}`,
    `  ops       username ${demo.staff.ops.login}  password ${demo.staff.ops.password}`,
    `  risk      username ${demo.staff.risk.login}  password ${demo.staff.risk.password}`,
    `  admin     username ${demo.staff.admin.login}  password ${demo.staff.admin.password}`,
    `  merchant  "${demo.merchant.name}" (id ${demo.merchant.id})  x-api-key ${demo.merchant.apiKey}`,
    `  catalogue GET /v1/goods (${demo.goodsIds.length} goods from ${demo.merchantIds.length} merchants)`,
    `  products  ${demo.products.map((p) => `${p.code} (id ${p.id})`).join(', ')}`,
    `  the demo customer has a credit line of ${formatAmount(demo.creditLimitMinor, 2)} CNY`,
    '  web       borrower app at /app/ (the customer), operations console at /console/ (ops, risk)',
    '',
    'try: open /app/ and log in as the customer to buy on installments and repay, or the console at /console/',
    '     as risk to work the review queue; the API: POST /v1/orders {goods_id, product_id, tenor} with an Idempotency-Key',
    '',
  ].join('\n');
  if (file) writeFileSync(file, text, { mode: 0o600 });
  return text;
}
