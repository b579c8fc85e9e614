/**
 * Issue 14 findings 3, 4, 10 and the log-in part of 11, and item 3, against real PostgreSQL and
 * Redis: the identifier is normalised before it is counted; attempts are counted before the
 * password is checked, so concurrency does not buy extra guesses; a stranger guessing from
 * elsewhere does not lock the owner out; deleting every cache key lifts no lockout; registration
 * answers are limited per address; failures and lock-outs are logged at info with a keyed digest
 * and the client address, never the phone or username. The client address is the socket's peer
 * unless that peer is a configured load balancer (FENQI_TRUSTED_PROXIES).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { type Api, buildApi } from '../../src/api/server.ts';
import {
  LOGIN_PAIR_MAX_ATTEMPTS,
  REGISTRATION_ADDRESS_MAX_ATTEMPTS,
  RESET_REQUEST_PHONE_MAX,
} from '../../src/auth/throttle.ts';
import { CACHE_PREFIX } from '../../src/cache/cache.ts';
import { loadConfig } from '../../src/config.ts';
import { RESET_CODE_DIGITS, RESET_CODE_MAX_ATTEMPTS } from '../../src/domain/password-reset.ts';
import { REDACT_PATHS } from '../../src/logger.ts';
import { SimulatedMessageProvider } from '../../src/notify/providers.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { type DemoCredentials, seedDemo } from '../../src/store/seed.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import { type Person, personFor } from '../identity/support.ts';

/** The load balancer this file's API trusts (any other peer is a client). */
const LOAD_BALANCER = '10.250.0.1';

interface Answer {
  status: number;
  code: string | undefined;
}

describe('log-in and registration limits', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let platform: Platform;
  let app: Api;
  let demo: DemoCredentials;
  let intruder: Redis;
  const logLines: Record<string, unknown>[] = [];
  let nextPerson = 7000;

  const post = async (
    url: string,
    payload: object,
    address = '127.0.0.1',
    forwardedFor?: string,
  ): Promise<Answer> => {
    const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    const res = await app.inject({ method: 'POST', url, payload, remoteAddress: address, headers });
    return { status: res.statusCode, code: res.statusCode >= 400 ? res.json().error.code : undefined };
  };
  const logIn = (payload: object, address?: string) => post('/v1/auth/login', payload, address);
  const registered = async (): Promise<Person> => {
    const person = personFor(nextPerson++);
    const res = await post('/v1/customers', person, '10.9.9.9');
    assert.equal(res.status, 201);
    return person;
  };
  const tally = (answers: Answer[]) => ({
    checked: answers.filter((a) => a.status === 401).length,
    refused: answers.filter((a) => a.status === 429).length,
    other: answers.filter((a) => a.status !== 401 && a.status !== 429).length,
  });

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    const config = loadConfig({
      ...pg.env(),
      ...redis.env(),
      FENQI_DATA_DIR: tempDir('login-limits'),
      LOG_LEVEL: 'info',
      FENQI_TRUSTED_PROXIES: `${LOAD_BALANCER},10.251.0.0/16`,
    });
    const logger = pino(
      { level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      new Writable({
        write(chunk, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
          done();
        },
      }),
    );
    platform = await openPlatform(config, logger);
    app = await buildApi(platform);
    await app.ready();
    demo = (await seedDemo(platform.db.sql, platform.services.crypto))!;
    intruder = redis.client('admin');
  });
  after(async () => {
    intruder?.disconnect();
    await app?.close();
    await platform?.close();
    await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
  });

  test('a staff name spelled with spaces, tabs or full-width letters is one name to the counter: no guesses beyond the cap, and the right password is refused while locked', async () => {
    const { login, password } = demo.staff.risk;
    const spellings = [`  ${login}`, `${login}  `, `\t${login}`, login.toUpperCase(), `${login}\n`];
    const answers: Answer[] = [];
    for (let i = 0; i < 60; i++)
      answers.push(await logIn({ username: spellings[i % spellings.length]!, password: `wrong-${i}-guess` }));
    assert.deepEqual(tally(answers), {
      checked: LOGIN_PAIR_MAX_ATTEMPTS,
      refused: 60 - LOGIN_PAIR_MAX_ATTEMPTS,
      other: 0,
    });
    const fullWidth = [...login].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
    for (const spelling of [`\t${login}`, login, fullWidth])
      assert.equal((await logIn({ username: spelling, password })).status, 429, JSON.stringify(spelling));
  });

  test('41 concurrent log-ins for one phone check at most the cap of passwords', async () => {
    const person = await registered();
    const answers = await Promise.all(
      Array.from({ length: 41 }, (_, i) => logIn({ phone: person.phone, password: `wrong-${i}-password` })),
    );
    const { checked, refused, other } = tally(answers);
    assert.equal(other, 0);
    assert.ok(
      checked <= LOGIN_PAIR_MAX_ATTEMPTS,
      `${checked} passwords checked against a cap of ${LOGIN_PAIR_MAX_ATTEMPTS}`,
    );
    assert.equal(checked + refused, 41);
  });

  test('a stranger guessing from elsewhere cannot lock the owner out, however many addresses it uses', async () => {
    const person = await registered();
    const owner = '10.1.1.1';
    assert.equal((await logIn({ phone: person.phone, password: person.password }, owner)).status, 200);
    for (let i = 0; i < 12; i++)
      await logIn({ phone: person.phone, password: `guess-${i}-wrong` }, '10.66.0.1');
    assert.equal((await logIn({ phone: person.phone, password: person.password }, '10.66.0.1')).status, 429);
    const spread: Answer[] = [];
    for (let i = 0; i < 40; i++)
      spread.push(await logIn({ phone: person.phone, password: `guess-${i}-wrong` }, `10.67.0.${i + 1}`));
    // past the free attempts each checked guess doubles the wait before the next: some are refused
    assert.ok(
      spread.some((a) => a.status === 429 && a.code === 'TOO_MANY_ATTEMPTS'),
      'guessing from many addresses meets the backoff',
    );
    assert.equal((await logIn({ phone: person.phone, password: person.password }, owner)).status, 200);
  });

  test('deleting every cache key in Redis lifts no lockout', async () => {
    const person = await registered();
    for (let i = 0; i < LOGIN_PAIR_MAX_ATTEMPTS; i++)
      assert.equal((await logIn({ phone: person.phone, password: `wrong-${i}-password` })).status, 401);
    assert.equal((await logIn({ phone: person.phone, password: person.password })).status, 429);
    const keys = await intruder.keys(`${CACHE_PREFIX}*`);
    if (keys.length > 0) await intruder.del(...keys);
    await intruder.flushall();
    assert.equal((await logIn({ phone: person.phone, password: person.password })).status, 429);
  });

  test('registration answers PHONE_TAKEN to at most the cap of tries from one address, then 429', async () => {
    const taken = await registered();
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i++)
      answers.push(await post('/v1/customers', { ...personFor(8000 + i), phone: taken.phone }, '10.5.5.5'));
    const revealed = answers.filter((a) => a.code === 'PHONE_TAKEN').length;
    assert.equal(revealed, REGISTRATION_ADDRESS_MAX_ATTEMPTS);
    assert.ok(answers.slice(revealed).every((a) => a.status === 429 && a.code === 'TOO_MANY_ATTEMPTS'));
    assert.equal(
      (await post('/v1/customers', personFor(8100), '10.5.5.6')).status,
      201,
      'other addresses register',
    );
  });

  test('failed log-ins and lock-outs are logged at info with a keyed digest and the address, never the phone', async () => {
    const person = await registered();
    logLines.length = 0;
    for (let i = 0; i <= LOGIN_PAIR_MAX_ATTEMPTS; i++)
      await logIn({ phone: person.phone, password: `wrong-${i}-password` }, '10.44.0.7');
    const failed = logLines.filter((l) => l.msg === 'log-in failed');
    const locked = logLines.filter((l) => l.msg === 'log-in locked out');
    assert.equal(failed.length, LOGIN_PAIR_MAX_ATTEMPTS);
    assert.equal(locked.length, 1);
    for (const line of [...failed, ...locked]) {
      assert.equal(line.level, 30, 'info');
      assert.equal(line.address, '10.44.0.7');
      assert.match(String(line.login), /^[0-9a-f]{16}$/);
      assert.equal(line.login, failed[0]!.login, 'one identifier, one digest');
    }
    const text = JSON.stringify(logLines);
    assert.ok(!text.includes(person.phone), 'the phone is in no log line');
    assert.ok(!text.includes(person.phone.slice(3)), 'nor a part of it');
  });

  test('X-Forwarded-For from an untrusted peer changes neither the counted address nor the logged one', async () => {
    const taken = await registered();
    const answers: Answer[] = [];
    for (let i = 0; i < REGISTRATION_ADDRESS_MAX_ATTEMPTS + 5; i++) {
      const spoofed = `10.90.${i}.1`;
      answers.push(
        await post('/v1/customers', { ...personFor(8200 + i), phone: taken.phone }, '10.5.7.7', spoofed),
      );
    }
    const revealed = answers.filter((a) => a.code === 'PHONE_TAKEN').length;
    assert.equal(revealed, REGISTRATION_ADDRESS_MAX_ATTEMPTS, 'one peer, one count, whatever it claims');
    assert.ok(answers.slice(revealed).every((a) => a.status === 429 && a.code === 'TOO_MANY_ATTEMPTS'));
    const person = await registered();
    logLines.length = 0;
    await post(
      '/v1/auth/login',
      { phone: person.phone, password: 'wrong-password-1' },
      '10.5.7.8',
      '10.90.0.9',
    );
    const failed = logLines.filter((l) => l.msg === 'log-in failed');
    assert.deepEqual(
      failed.map((l) => l.address),
      ['10.5.7.8'],
    );
  });

  test('through a trusted load balancer, X-Forwarded-For names the client: each is counted and logged on its own', async () => {
    const taken = await registered();
    const answers: Answer[] = [];
    for (let i = 0; i < REGISTRATION_ADDRESS_MAX_ATTEMPTS + 5; i++) {
      const client = `10.91.${i}.1`;
      answers.push(
        await post('/v1/customers', { ...personFor(8300 + i), phone: taken.phone }, LOAD_BALANCER, client),
      );
    }
    assert.ok(
      answers.every((a) => a.code === 'PHONE_TAKEN'),
      'distinct clients behind one balancer are not one address',
    );
    // one client behind the balancer is still capped, as if it came directly
    const one: Answer[] = [];
    for (let i = 0; i < REGISTRATION_ADDRESS_MAX_ATTEMPTS + 2; i++)
      one.push(
        await post(
          '/v1/customers',
          { ...personFor(8400 + i), phone: taken.phone },
          LOAD_BALANCER,
          '10.92.0.1',
        ),
      );
    assert.equal(one.filter((a) => a.code === 'PHONE_TAKEN').length, REGISTRATION_ADDRESS_MAX_ATTEMPTS);
    const person = await registered();
    logLines.length = 0;
    // the client's own claim in front of the balancer's entry is not believed: the rightmost
    // untrusted hop is the client; a chain of trusted hops (10.251.0.0/16) is walked through
    await post(
      '/v1/auth/login',
      { phone: person.phone, password: 'wrong-password-1' },
      LOAD_BALANCER,
      '10.93.0.1',
    );
    await post(
      '/v1/auth/login',
      { phone: person.phone, password: 'wrong-password-2' },
      LOAD_BALANCER,
      '203.0.113.66, 10.93.0.2, 10.251.3.4',
    );
    const failed = logLines.filter((l) => l.msg === 'log-in failed');
    assert.deepEqual(
      failed.map((l) => l.address),
      ['10.93.0.1', '10.93.0.2'],
    );
  });

  /** Asks for a reset code from `address` and answers the SMS text the simulator delivered, if any. */
  const askCode = async (sms: SimulatedMessageProvider, phone: string, address = '10.60.0.1') => {
    const before = sms.deliveries().length;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/password-reset',
      payload: { phone },
      remoteAddress: address,
    });
    await platform.services.passwordResets.settled();
    const sent = sms.deliveries().slice(before);
    return { status: res.statusCode, body: res.json(), sent, code: /\d{6}/.exec(sent[0]?.text ?? '')?.[0] };
  };
  const confirmCode = (phone: string, code: string, newPassword: string, address = '10.60.0.1') =>
    post('/v1/auth/password-reset/confirm', { phone, code, new_password: newPassword }, address);
  const tokenFor = async (phone: string, password: string) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { phone, password } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().access_token as string;
  };
  const me = async (token: string) =>
    (await app.inject({ url: '/v1/customers/me', headers: { authorization: `Bearer ${token}` } })).statusCode;
  const otherCode = (code: string) =>
    String((Number(code) + 1) % 10 ** RESET_CODE_DIGITS).padStart(RESET_CODE_DIGITS, '0');

  test('forgot password: one answer for a registered and an unknown phone; the SMS code, kept only as an HMAC, sets a new password once and ends earlier sessions; neither phone nor code is logged', async () => {
    const sms = new SimulatedMessageProvider();
    platform.services.messaging.sms = sms;
    const person = await registered();
    const unknown = personFor(nextPerson++).phone;
    const oldToken = await tokenFor(person.phone, person.password);
    assert.equal(await me(oldToken), 200);
    logLines.length = 0;

    const known = await askCode(sms, person.phone);
    const stranger = await askCode(sms, unknown);
    assert.equal(known.status, 202);
    assert.deepEqual(
      { status: stranger.status, body: stranger.body },
      { status: known.status, body: known.body },
      'the answer does not say whether the phone has an account',
    );
    assert.equal(stranger.sent.length, 0, 'nothing is sent to a phone with no account');
    assert.equal(known.sent.length, 1);
    assert.equal(known.sent[0]!.channel, 'sms');
    assert.match(known.sent[0]!.text, /验证码\d{6}，10分钟内有效/, 'a Chinese SMS by default');
    const code = known.code!;
    const rows = await platform.db.sql<{ hmac: Buffer }[]>`
      select code_hmac as hmac from password_reset_codes where used_at is null`;
    assert.equal(rows.length, 1, 'one live code: the one just sent');
    assert.ok(rows.every((r) => r.hmac.length === 32 && !r.hmac.includes(Buffer.from(code))));

    assert.equal((await confirmCode(unknown, code, 'new-password-1')).code, 'INVALID_CODE');
    assert.equal((await confirmCode(person.phone, otherCode(code), 'new-password-1')).code, 'INVALID_CODE');
    assert.deepEqual(await confirmCode(person.phone, code, 'new-password-1'), {
      status: 200,
      code: undefined,
    });
    assert.equal(await me(oldToken), 401, 'the session from before the reset is over');
    assert.equal(
      (await logIn({ phone: person.phone, password: person.password })).code,
      'INVALID_CREDENTIALS',
    );
    assert.equal(await me(await tokenFor(person.phone, 'new-password-1')), 200);
    assert.equal(
      (await confirmCode(person.phone, code, 'new-password-2')).code,
      'INVALID_CODE',
      'a code is used once',
    );
    const logged = JSON.stringify(logLines);
    assert.ok(
      logLines.some((l) => l.msg === 'password reset'),
      logged,
    );
    for (const secret of [person.phone, unknown, code, person.phone.slice(-8)])
      assert.ok(!logged.includes(secret), `the logs carry ${secret}`);
  });

  test('a reset code dies after its tries or its time, and asking is limited per phone alike for registered and unknown phones', async () => {
    const sms = new SimulatedMessageProvider();
    platform.services.messaging.sms = sms;
    const person = await registered();
    const first = await askCode(sms, person.phone, '10.61.0.1');
    for (let i = 0; i < RESET_CODE_MAX_ATTEMPTS; i++)
      assert.equal(
        (await confirmCode(person.phone, otherCode(first.code!), 'new-password-3')).code,
        'INVALID_CODE',
      );
    assert.equal(
      (await confirmCode(person.phone, first.code!, 'new-password-3')).code,
      'INVALID_CODE',
      'the right code is refused once the tries are spent',
    );
    const second = await askCode(sms, person.phone, '10.61.0.2');
    await platform.db.sql`update password_reset_codes set expires_at = now() - interval '1 second'
      where used_at is null and created_at > now() - interval '1 minute'`;
    assert.equal((await confirmCode(person.phone, second.code!, 'new-password-3')).code, 'INVALID_CODE');

    const unknown = personFor(nextPerson++).phone;
    await askCode(sms, unknown, '10.61.0.1');
    await askCode(sms, unknown, '10.61.0.2');
    // two asked for each so far, from two addresses: the limit is the phone's, wherever it asks from
    for (const phone of [person.phone, unknown]) {
      const statuses: number[] = [];
      for (let i = 0; i < RESET_REQUEST_PHONE_MAX; i++)
        statuses.push((await askCode(sms, phone, `10.62.${i}.1`)).status);
      assert.deepEqual(statuses, [...Array(RESET_REQUEST_PHONE_MAX - 2).fill(202), 429, 429]);
    }
  });
});
