/**
 * A policy may give some grades a lower maximum line (line.maxLineMinorByGrade): a decision's line
 * is capped by it, and maker-checker's "policy maximum for the grade" is that figure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { policyMaxFor } from '../../src/credit/changes.ts';
import { creditLine, maxLineFor } from '../../src/risk/model/line-policy.ts';
import { checkPolicy, DEFAULT_POLICY, type Policy, PolicyError } from '../../src/risk/model/policy.ts';

const withGradeMax = (byGrade: Record<string, string>): Policy => {
  const p = structuredClone(DEFAULT_POLICY);
  p.line.maxLineMinorByGrade = byGrade;
  return p;
};

describe('the policy maximum for a grade', () => {
  test('a grade with its own maximum has it; the others and an unknown grade have the policy maximum; a grade not lent to has none', () => {
    const policy = checkPolicy(withGradeMax({ C: '1500000', D: '800000' }));
    assert.equal(maxLineFor(policy.line, 'C'), 1_500_000n);
    assert.equal(maxLineFor(policy.line, 'A'), 5_000_000n);
    assert.equal(policyMaxFor(policy, 'C'), 1_500_000n);
    assert.equal(policyMaxFor(policy, 'D'), 800_000n);
    assert.equal(policyMaxFor(policy, 'B'), 5_000_000n);
    assert.equal(policyMaxFor(policy, null), 5_000_000n, 'a customer never graded: the policy maximum');
    assert.equal(policyMaxFor(policy, 'E'), 0n, 'E has an income multiple of 0');
  });

  test("a decision's line is capped by its grade's maximum", () => {
    const policy = checkPolicy(withGradeMax({ C: '1500000' }));
    const input = { statedIncomeMinor: 10_000_000n, factorsBp: [], productCapMinor: null };
    assert.deepEqual(creditLine(policy.line, { ...input, grade: 'C' }), {
      lineMinor: 1_500_000n,
      belowMinimum: false,
      cappedBy: 'policy',
    });
    assert.equal(creditLine(policy.line, { ...input, grade: 'A' }).lineMinor, 5_000_000n);
  });

  test('a grade maximum outside the policy range, for an unknown grade, or not an amount is refused', () => {
    for (const [byGrade, why] of [
      [{ C: '9000000' }, /maxLineMinorByGrade\.C must be within/],
      [{ C: '100' }, /maxLineMinorByGrade\.C must be within/],
      [{ Z: '100000' }, /maxLineMinorByGrade\.Z/],
      [{ C: '15000.00' }, /maxLineMinorByGrade\.C/],
    ] as const) {
      assert.throws(
        () => checkPolicy(withGradeMax(byGrade)),
        (err: unknown) => err instanceof PolicyError && why.test(err.message),
      );
    }
  });

  test('a policy without per-grade maxima keeps its shape (nothing added when stored)', () => {
    assert.equal('maxLineMinorByGrade' in checkPolicy(DEFAULT_POLICY).line, false);
    assert.deepEqual(checkPolicy(withGradeMax({ D: '800000' })).line.maxLineMinorByGrade, { D: '800000' });
  });
});
