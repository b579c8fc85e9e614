import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createFieldCipher, DecryptError } from '../../src/store/crypto.ts';
import { getCustomer } from '../../src/store/customers.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import {
  bearer,
  hexKey,
  login,
  openTestApi,
  type Person,
  personFor,
  register,
  type TestApi,
} from './support.ts';

const CUSTOMERS = 12;

/** Every way a value could show up in a dump: as text, and as the hex of its bytes (bytea). */
function traces(value: string): string[] {
  return [value, Buffer.from(value, 'utf8').toString('hex')];
}

describe('personal fields are encrypted per field in PostgreSQL', () => {
  let pg: PostgresServer;
  let t: TestApi;
  let url: string;
  const people: Person[] = [];
  const ids: string[] = [];

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('identity_enc');
    t = await openTestApi({
      ...pg.keys,
      DATABASE_URL: url,
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
    });
    for (let n = 0; n < CUSTOMERS; n++) {
      const person = personFor(n + 100, n % 3 !== 0);
      people.push(person);
      ids.push(await register(t.app, person));
    }
  });
  after(async () => {
    await t?.close();
    await pg?.destroy();
  });

  test('the raw customer rows hold no phone, name, national id or card number in clear', async () => {
    const rows = await t.platform.db.sql`select * from customers`;
    assert.equal(rows.length, CUSTOMERS);
    const raw = JSON.stringify(rows, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v,
    );
    for (const person of people) {
      for (const value of [person.phone, person.legal_name, person.national_id, person.bank_card].filter(
        Boolean,
      )) {
        for (const trace of traces(value!)) assert.ok(!raw.includes(trace), `a raw row contains ${value}`);
      }
    }
  });

  test('a plain pg_dump --data-only of the database shows no personal field in clear', () => {
    const dump = execFileSync(`${pg.binDir}/pg_dump`, ['--data-only', '--dbname', url], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.match(dump, /COPY public\.customers/);
    for (const person of people) {
      for (const value of [person.phone, person.legal_name, person.national_id, person.bank_card].filter(
        Boolean,
      )) {
        for (const trace of traces(value!)) assert.ok(!dump.includes(trace), `pg_dump shows ${value}`);
      }
      // the password is not there either, only its argon2id hash
      assert.ok(!dump.includes(person.password));
    }
    assert.match(dump, /\$argon2id\$v=19\$m=19456,/);
  });

  test('each stored value carries the format version and the key id in its header', async () => {
    const rows = await t.platform.db.sql<{ phone_enc: Buffer; legal_name_enc: Buffer }[]>`
      select phone_enc, legal_name_enc from customers`;
    for (const row of rows) {
      assert.equal(row.phone_enc[0], 1);
      assert.equal(row.phone_enc.readUInt16BE(1), 1);
      // two customers never share a ciphertext, even for equal-length values: the nonce is random
    }
    assert.equal(new Set(rows.map((r) => r.phone_enc.toString('hex'))).size, rows.length);
  });

  test('the customer reads their own fields back decrypted, with the card masked', async () => {
    const person = people[1]!;
    const token = await login(t.app, { phone: person.phone, password: person.password });
    const res = await t.app.inject({ url: '/v1/customers/me', headers: bearer(token) });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.id, ids[1]);
    assert.equal(body.phone, person.phone);
    assert.equal(body.legal_name, person.legal_name);
    assert.equal(body.national_id, person.national_id);
    assert.equal(body.bank_card, `**** **** **** ${person.bank_card!.slice(-4)}`);
    assert.ok(!res.body.includes(person.bank_card!));
  });

  test('a ciphertext moved to another row fails to decrypt instead of reading as that row', async () => {
    const [a, b] = [ids[1]!, ids[2]!];
    const sql = t.platform.db.sql;
    await sql`update customers set legal_name_enc = (select legal_name_enc from customers where id = ${a}::bigint)
              where id = ${b}::bigint`;
    const crypto = t.platform.services.crypto;
    await assert.rejects(getCustomer(sql, crypto, BigInt(b)), DecryptError);
    // the API does not leak it as a 2xx or as the other person's name
    const person = people[2]!;
    const token = await login(t.app, { phone: person.phone, password: person.password });
    const res = await t.app.inject({ url: '/v1/customers/me', headers: bearer(token) });
    assert.equal(res.statusCode, 500);
    assert.ok(!res.body.includes(people[1]!.legal_name));
    // the original row still reads
    assert.equal((await getCustomer(sql, crypto, BigInt(a)))?.legalName, people[1]!.legal_name);
  });

  test('a ciphertext moved to another column of the same row fails to decrypt', async () => {
    const id = ids[4]!;
    const sql = t.platform.db.sql;
    await sql`update customers set legal_name_enc = phone_enc where id = ${id}::bigint`;
    await assert.rejects(getCustomer(sql, t.platform.services.crypto, BigInt(id)), DecryptError);
  });

  test('a flipped byte, a changed key id or an unknown key id fails to decrypt', () => {
    const key = Buffer.from(hexKey(), 'hex');
    const cipher = createFieldCipher(new Map([[7, key]]));
    const place = { table: 'customers', column: 'phone_enc', rowId: 42n };
    const stored = cipher.encrypt('13900000001', place);
    assert.equal(cipher.decrypt(stored, place), '13900000001');
    const flipped = Buffer.from(stored);
    flipped[flipped.length - 20]! ^= 1;
    assert.throws(() => cipher.decrypt(flipped, place), DecryptError);
    const relabelled = Buffer.from(stored);
    relabelled.writeUInt16BE(8, 1);
    const both = createFieldCipher(
      new Map([
        [7, key],
        [8, key],
      ]),
    );
    // same key bytes under another id: the header is authenticated, so this still fails
    assert.throws(() => both.decrypt(relabelled, place), DecryptError);
    assert.throws(() => createFieldCipher(new Map([[1, key]])).decrypt(stored, place), /not configured/);
  });
});
