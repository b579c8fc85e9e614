/**
 * Hard rules whose fact is unknown (a source failed) did not fire: they refer the application but
 * are reported apart from the rules that held, and never as their own reason codes. With the age
 * unknown, "younger than 18" and "older than 65" would otherwise both show on one application.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_POLICY, evaluateRules, FACT_NAMES, type Facts } from '../../src/risk/model/policy.ts';
import { explainRules } from '../../src/risk/service/explain.ts';

const knownFacts = (): Facts => {
  const facts = Object.fromEntries(FACT_NAMES.map((f) => [f, 0])) as Facts;
  facts.deny_listed = false;
  facts.customer_active = true;
  facts.age_years = 35;
  return facts;
};

describe('rule explanations', () => {
  test('with the age unknown, both age rules are unchecked and neither is reported as fired', () => {
    const facts = { ...knownFacts(), age_years: null };
    const rules = explainRules(evaluateRules(DEFAULT_POLICY, facts));
    assert.deepEqual(rules.fired, []);
    assert.deepEqual(
      rules.unknown.map((r) => r.code),
      ['AGE_BELOW_MIN', 'AGE_ABOVE_MAX'],
    );
    assert.ok(rules.unknown.every((r) => r.fact === 'age_years'));
  });

  test('a rule that held is fired with the value it saw, apart from the unchecked ones', () => {
    const facts = { ...knownFacts(), age_years: 16, current_dpd: null };
    const rules = explainRules(evaluateRules(DEFAULT_POLICY, facts));
    assert.deepEqual(rules.fired, [
      { code: 'AGE_BELOW_MIN', action: 'decline', fact: 'age_years', observed: 16 },
    ]);
    assert.deepEqual(
      rules.unknown.map((r) => r.code),
      ['SERIOUS_DELINQUENCY'],
    );
  });

  test('hits stored before the fact name was kept still split by whether the fact was known', () => {
    const rules = explainRules([
      { code: 'AGE_BELOW_MIN', action: 'refer', fact: null },
      { code: 'DENY_LISTED', action: 'decline', fact: true },
      'garbage',
    ]);
    assert.deepEqual(rules.unknown, [{ code: 'AGE_BELOW_MIN', fact: null }]);
    assert.deepEqual(rules.fired, [{ code: 'DENY_LISTED', action: 'decline', fact: null, observed: true }]);
    assert.deepEqual(explainRules(undefined), { fired: [], unknown: [] });
  });
});
