import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../../src/risk/model/policy.ts';
import { ACTIVE_REFRESH_MS } from '../../src/risk/service/decide.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { type DecisionTestApi, openDecisionApi } from './decision-support.ts';

/** Generous bound for a background refresh to land on a loaded machine; not a timing assertion. */
const SETTLE_MS = 20_000;

describe('the active model and policy a decision process holds', () => {
  let t: DecisionTestApi;

  before(async () => {
    t = await openDecisionApi();
    await t.platform.services.risk.ensureChampion();
    t.platform.services.risk.refresh();
  });
  after(async () => {
    await t?.close();
  });

  test('a policy published by another process is picked up after the refresh interval, without a restart', async () => {
    const first = await t.platform.services.risk.active();
    // as another process would: publish, and never tell this one
    const published = await publishPolicy(t.platform.db.sql, structuredClone(DEFAULT_POLICY), 'elsewhere');
    assert.notEqual(published, first.policy.version);
    assert.equal(
      (await t.platform.services.risk.active()).policy.version,
      first.policy.version,
      'served from memory',
    );
    await new Promise((r) => setTimeout(r, ACTIVE_REFRESH_MS));
    const deadline = Date.now() + SETTLE_MS;
    let seen = first.policy.version;
    while (seen !== published && Date.now() < deadline) {
      seen = (await t.platform.services.risk.active()).policy.version;
      if (seen !== published) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen, published);
  });

  test('an unchanged registry keeps the same parsed model objects across refreshes', async () => {
    const first = await t.platform.services.risk.active();
    await new Promise((r) => setTimeout(r, ACTIVE_REFRESH_MS));
    await t.platform.services.risk.active(); // due: the stamp check runs in the background
    const deadline = Date.now() + SETTLE_MS;
    let next = await t.platform.services.risk.active();
    while (next === first && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      next = await t.platform.services.risk.active();
    }
    assert.notEqual(next, first, 'the refresh ran');
    assert.equal(next.champion, first.champion, 'the model was not re-read or re-parsed');
    assert.equal(next.policy, first.policy);
  });
});
