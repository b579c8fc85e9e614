import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDays,
  addMonths,
  addPeriods,
  DomainError,
  daysBetween,
  isDate,
  parseDate,
} from '../../src/domain/index.ts';

describe('business dates', () => {
  it('rolls a month-end to the last day of a shorter month: Jan 31 + 1 month = Feb 29 in 2024', () => {
    assert.equal(addMonths('2024-01-31', 1), '2024-02-29');
    assert.equal(addMonths('2023-01-31', 1), '2023-02-28');
    assert.equal(addMonths('2024-08-31', 1), '2024-09-30');
    assert.equal(addMonths('2024-02-29', 12), '2025-02-28');
    assert.equal(addMonths('2024-12-15', 1), '2025-01-15');
    assert.equal(addMonths('2024-03-31', -1), '2024-02-29');
  });

  it('counts every due date from the start, so Jan 31 + 2 months is Mar 31, not Mar 29', () => {
    assert.equal(addPeriods('2024-01-31', 1, 'month', 2), '2024-03-31');
    assert.equal(addPeriods('2024-01-31', 3, 'month', 1), '2024-04-30');
  });

  it('adds days and weeks across month and year ends', () => {
    assert.equal(addDays('2024-02-28', 1), '2024-02-29');
    assert.equal(addDays('2023-12-31', 1), '2024-01-01');
    assert.equal(addPeriods('2024-01-31', 15, 'day', 1), '2024-02-15');
    assert.equal(addPeriods('2024-12-25', 2, 'week', 1), '2025-01-08');
  });

  it('counts actual days, including February 29', () => {
    assert.equal(daysBetween('2024-01-31', '2024-02-29'), 29);
    assert.equal(daysBetween('2024-01-01', '2025-01-01'), 366);
    assert.equal(daysBetween('2023-01-01', '2024-01-01'), 365);
    assert.equal(daysBetween('2024-03-01', '2024-02-01'), -29);
  });

  it('refuses impossible dates and other formats', () => {
    for (const bad of ['2023-02-29', '2024-13-01', '2024-1-5', '20240105', '2024-04-31', 'today']) {
      assert.equal(isDate(bad), false, bad);
      assert.throws(
        () => parseDate(bad),
        (e: unknown) => e instanceof DomainError && e.code === 'INVALID_DATE',
      );
    }
    assert.equal(isDate('2024-02-29'), true);
  });
});

it('date arithmetic past the year 9999 is refused as DATE_OUT_OF_RANGE, never a 5-digit year', () => {
  assert.throws(
    () => addMonths('9999-12-31', 1),
    (err: unknown) => err instanceof DomainError && err.code === 'DATE_OUT_OF_RANGE',
  );
});
