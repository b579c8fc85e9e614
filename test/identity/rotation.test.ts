import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFieldCipher, keyIdOf } from '../../src/store/crypto.ts';
import { getCustomer, reencryptCustomerBatch } from '../../src/store/customers.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { hexKey, openTestApi, type Person, personFor, register, runCli, type TestApi } from './support.ts';

/** More customers than one batch, so the run spans several transactions. */
const CUSTOMERS = 25;
const BATCH = '7';

describe('fenqi keys rotate re-encrypts every field under the newest key', () => {
  let pg: PostgresServer;
  let url: string;
  let t: TestApi | undefined;
  const key1 = hexKey();
  const key2 = hexKey();
  const blind = hexKey();
  const people = new Map<string, Person>();

  const storedKeyIds = async (api: TestApi) => {
    const rows = await api.platform.db.sql<Record<string, Buffer | null>[]>`
      select phone_enc, national_id_enc, legal_name_enc, bank_card_enc from customers`;
    const ids = new Set<number>();
    for (const row of rows) for (const value of Object.values(row)) if (value) ids.add(keyIdOf(value));
    return ids;
  };

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('identity_rotate');
    const first = await openTestApi({
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `1:${key1}`,
      FENQI_BLIND_INDEX_KEY: blind,
    });
    try {
      for (let n = 0; n < CUSTOMERS; n++) {
        const person = personFor(n + 500, n % 2 === 0);
        people.set(await register(first.app, person), person);
      }
      assert.deepEqual([...(await storedKeyIds(first))], [1]);
    } finally {
      await first.close();
    }
  });
  after(async () => {
    await t?.close();
    await pg?.destroy();
  });

  test('--dry-run counts the customers to re-encrypt and changes nothing', async () => {
    const env = {
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `1:${key1},2:${key2}`,
      FENQI_BLIND_INDEX_KEY: blind,
    };
    const run = await runCli(['keys', 'rotate', '--dry-run'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`dry run: ${CUSTOMERS} customers have fields to re-encrypt under key 2`),
    );
    t = await openTestApi(env);
    assert.deepEqual([...(await storedKeyIds(t))], [1]);
  });

  test('a run moves every value to key 2 in batches with progress, and every value still reads back', async () => {
    const env = {
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `1:${key1},2:${key2}`,
      FENQI_BLIND_INDEX_KEY: blind,
    };
    const run = await runCli(['keys', 'rotate', '--batch-size', BATCH], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`rotated ${CUSTOMERS}/${CUSTOMERS} customers`));
    assert.match(run.stdout, new RegExp(`of ${CUSTOMERS} customers under key 2`));
    assert.deepEqual([...(await storedKeyIds(t!))], [2]);

    // Only key 2 is needed now: the old key can be dropped from the configuration.
    await t!.close();
    t = await openTestApi({
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `2:${key2}`,
      FENQI_BLIND_INDEX_KEY: blind,
    });
    const crypto = t.platform.services.crypto;
    for (const [id, person] of people) {
      const profile = await getCustomer(t.platform.db.sql, crypto, BigInt(id));
      assert.equal(profile?.phone, person.phone);
      assert.equal(profile?.nationalId, person.national_id);
      assert.equal(profile?.legalName, person.legal_name);
      assert.equal(profile?.bankCard, person.bank_card ?? null);
    }
    // log-in by phone still works: the blind index did not change
    const [, person] = [...people][3]!;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { phone: person.phone, password: person.password },
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  test('a second run finds nothing to do', async () => {
    const env = {
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `1:${key1},2:${key2}`,
      FENQI_BLIND_INDEX_KEY: blind,
    };
    const run = await runCli(['keys', 'rotate'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /re-encrypted 0 fields of 0 customers under key 2/);
  });

  test('an interrupted rotation continues where it stopped: rotated rows are not redone', async () => {
    const key3 = hexKey();
    const env = {
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `2:${key2},3:${key3}`,
      FENQI_BLIND_INDEX_KEY: blind,
    };
    // One committed batch, as a run killed after its first transaction leaves the table.
    const crypto = createFieldCipher(
      new Map([
        [2, Buffer.from(key2, 'hex')],
        [3, Buffer.from(key3, 'hex')],
      ]),
    );
    const first = await t!.platform.db.sql.begin((tx) =>
      reencryptCustomerBatch(
        tx,
        { cipher: crypto, blindIndexKey: Buffer.from(blind, 'hex') },
        0n,
        Number(BATCH),
      ),
    );
    assert.equal(first.rows, Number(BATCH));
    assert.deepEqual([...(await storedKeyIds(t!))].sort(), [2, 3]);
    const run = await runCli(['keys', 'rotate', '--batch-size', BATCH], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`of ${CUSTOMERS - Number(BATCH)} customers under key 3`));
    assert.deepEqual([...(await storedKeyIds(t!))], [3]);
  });

  test('a value under a key id missing from FENQI_DATA_KEYS stops the run with a usage error naming it', async () => {
    const run = await runCli(['keys', 'rotate'], {
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `5:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: blind,
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /key id\(s\) 3/);
  });
});
