/**
 * The masking rule table (src/privacy/masking.ts) on literal values: what staff see of each
 * personal field. A rule that keeps no trailing characters (the name) shows the first one only.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mask } from '../../src/privacy/masking.ts';

describe('masking for staff', () => {
  test('a legal name shows its first character only, never the rest', () => {
    assert.equal(mask('legal_name', '张三丰', 'staff'), '张**');
    assert.equal(mask('legal_name', 'Web Tester 2', 'staff'), 'W***********');
  });

  test('phone, national id and bank card keep their head and last four', () => {
    assert.equal(mask('phone', '13912345678', 'staff'), '139****5678');
    assert.equal(mask('national_id', '11010119900101123X', 'staff'), '110***********123X');
    assert.equal(mask('bank_card', '6222020200112233445', 'staff'), '622202*********3445');
  });
});
