import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ACTIVE_REFRESH_MS, active, ensureChampion, refreshRisk } from '../../src/risk/decide.ts';
import { DEFAULT_POLICY } from '../../src/risk/policy.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { type DecisionTestApi, openDecisionApi } from './decision-support.ts';

/** Generous bound for a background refresh to land on a loaded machine; not a timing assertion. */
const SETTLE_MS = 20_000;

describe('the active model and policy a decision process holds', () => {
  let t: DecisionTestApi;

  before(async () => {
    t = await openDecisionApi();
    await ensureChampion(t.platform);
    refreshRisk(t.platform);
  });
  after(async () => {
    await t?.close();
  });

  test('a policy published by another process is picked up after the refresh interval, without a restart', async () => {
    const first = await active(t.platform);
    // as another process would: publish, and never tell this one
    const published = await publishPolicy(t.platform.db.sql, structuredClone(DEFAULT_POLICY), 'elsewhere');
    assert.notEqual(published, first.policy.version);
    assert.equal((await active(t.platform)).policy.version, first.policy.version, 'served from memory');
    await new Promise((r) => setTimeout(r, ACTIVE_REFRESH_MS));
    const deadline = Date.now() + SETTLE_MS;
    let seen = first.policy.version;
    while (seen !== published && Date.now() < deadline) {
      seen = (await active(t.platform)).policy.version;
      if (seen !== published) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen, published);
  });

  test('an unchanged registry keeps the same parsed model objects across refreshes', async () => {
    const first = await active(t.platform);
    await new Promise((r) => setTimeout(r, ACTIVE_REFRESH_MS));
    await active(t.platform); // due: the stamp check runs in the background
    const deadline = Date.now() + SETTLE_MS;
    let next = await active(t.platform);
    while (next === first && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      next = await active(t.platform);
    }
    assert.notEqual(next, first, 'the refresh ran');
    assert.equal(next.champion, first.champion, 'the model was not re-read or re-parsed');
    assert.equal(next.policy, first.policy);
  });
});
