/**
 * The one masking rule table (issue 14 item 8) on the examples its comments promise: a name keeps
 * its first character only (it kept the whole name after the stars: `slice(-0)` is everything).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MASKING_RULES, mask, PERSONAL_FIELDS } from '../../src/privacy/masking.ts';

describe('masking personal fields', () => {
  test('each field masks to what its rule says, for staff and exports', () => {
    for (const audience of ['staff', 'export'] as const) {
      assert.equal(mask('legal_name', '张三丰', audience), '张**');
      assert.equal(mask('legal_name', 'Tester Ng', audience), 'T********');
      assert.equal(mask('phone', '13912345678', audience), '139****5678');
      assert.equal(mask('national_id', '11010119900101123X', audience), '110***********123X');
      assert.equal(mask('bank_card', '6222020200112233445', audience), '622202*********3445');
    }
  });

  test('logs get no part of any field', () => {
    for (const field of PERSONAL_FIELDS) assert.equal(mask(field, '13912345678', 'log'), '[redacted]');
  });

  test('a masked value is as long as the value and keeps none of its hidden middle', () => {
    const samples = {
      legal_name: 'Web Tester 12',
      phone: '13812345678',
      national_id: '11010119900101123X',
      bank_card: '6222020200112233445',
    };
    for (const field of PERSONAL_FIELDS) {
      for (const audience of ['staff', 'export'] as const) {
        const value = samples[field];
        const masked = MASKING_RULES[field][audience](value);
        assert.equal([...masked].length, [...value].length, `${field} for ${audience}: ${masked}`);
        assert.ok(
          !masked.includes(value.slice(1, -1)),
          `${field} for ${audience} shows the middle: ${masked}`,
        );
      }
    }
  });
});
