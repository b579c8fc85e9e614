/**
 * The borrower's debit and message settings through the API on real PostgreSQL: a customer adds a
 * card (only BIN and last four come back), chooses which card automatic debit charges, turns it off
 * and on, and picks the message language and the marketing unsubscribe. Another customer's card is
 * 404, turning debit on without a card is 409, and bad input is 400: never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, createCustomer, type Lab, startLab } from '../lending/fixtures.ts';

let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab?.close();
});

test('a customer adds cards, chooses the debit card and turns automatic debit off and on', async () => {
  const sql = lab.platform.db.sql;
  const me = lab.token('customer', await createCustomer(sql, 1_000_000n));
  const other = lab.token('customer', await createCustomer(sql, 1_000_000n));
  const none = await call(lab, 'GET', '/v1/me/auto-debit', { token: me });
  assert.deepEqual(none.body, { enabled: false, card_id: null, cards: [] }, 'nothing before a card');
  const on = await call(lab, 'PUT', '/v1/me/auto-debit', { token: me, body: { enabled: true } });
  assert.equal(on.status, 409, 'no debit without a card');
  assert.equal(on.body.error.code, 'CARD_REQUIRED');

  const first = await call(lab, 'POST', '/v1/me/cards', {
    token: me,
    body: { card_number: '6222020000000001' },
  });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual({ bin: first.body.bin, last4: first.body.last4 }, { bin: '622202', last4: '0001' });
  assert.ok(!JSON.stringify(first.body).includes('6222020000000001'), 'the number never comes back');
  const again = await call(lab, 'POST', '/v1/me/cards', {
    token: me,
    body: { card_number: '6222020000000001' },
  });
  assert.equal(again.body.id, first.body.id, 'the same card twice is one card');
  const second = await call(lab, 'POST', '/v1/me/cards', {
    token: me,
    body: { card_number: '6228480000000002' },
  });

  const auto = await call(lab, 'GET', '/v1/me/auto-debit', { token: me });
  assert.equal(auto.body.enabled, true, 'on with the first card');
  assert.equal(auto.body.card_id, first.body.id);
  assert.equal(auto.body.cards.length, 2);

  const chosen = await call(lab, 'PUT', '/v1/me/auto-debit', {
    token: me,
    body: { card_id: second.body.id },
  });
  assert.equal(chosen.status, 200);
  assert.equal(chosen.body.card_id, second.body.id, 'the chosen card');
  const off = await call(lab, 'PUT', '/v1/me/auto-debit', { token: me, body: { enabled: false } });
  assert.deepEqual([off.body.enabled, off.body.card_id], [false, second.body.id], 'off, card kept');

  const theirs = await call(lab, 'PUT', '/v1/me/auto-debit', {
    token: other,
    body: { card_id: first.body.id },
  });
  assert.equal(theirs.status, 404, "another customer's card is not found");
  assert.equal(theirs.body.error.code, 'CARD_NOT_FOUND');
  const huge = await call(lab, 'PUT', '/v1/me/auto-debit', {
    token: me,
    body: { card_id: '9999999999999999999' },
  });
  assert.equal(huge.status, 404);
  for (const body of [{ card_number: '12' }, { card_number: 'abcd123456789' }, {}, { card_number: 1 }]) {
    assert.equal(
      (await call(lab, 'POST', '/v1/me/cards', { token: me, body })).status,
      400,
      JSON.stringify(body),
    );
  }
  for (const body of [{ enabled: 'yes' }, { card_id: '-1' }, { other: true }]) {
    assert.equal(
      (await call(lab, 'PUT', '/v1/me/auto-debit', { token: me, body })).status,
      400,
      JSON.stringify(body),
    );
  }
});

test('a customer chooses the message language and unsubscribes from marketing', async () => {
  const me = lab.token('customer', await createCustomer(lab.platform.db.sql, 1_000_000n));
  const start = await call(lab, 'GET', '/v1/me/notification-preferences', { token: me });
  assert.deepEqual(start.body, { language: 'zh-CN', marketing_opt_out: false }, 'zh-CN by default');
  const en = await call(lab, 'PUT', '/v1/me/notification-preferences', {
    token: me,
    body: { language: 'en' },
  });
  assert.deepEqual(en.body, { language: 'en', marketing_opt_out: false });
  const out = await call(lab, 'PUT', '/v1/me/notification-preferences', {
    token: me,
    body: { marketing_opt_out: true },
  });
  assert.deepEqual(out.body, { language: 'en', marketing_opt_out: true }, 'the language is kept');
  const bad = await call(lab, 'PUT', '/v1/me/notification-preferences', {
    token: me,
    body: { language: 'fr' },
  });
  assert.equal(bad.status, 400);
});
