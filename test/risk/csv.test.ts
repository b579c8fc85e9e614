import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvError, formatCsv, isPresent, parseCsv, toDataset } from '../../src/risk/model/csv.ts';

describe('CSV reading', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const table = parseCsv('name,note\r\n"Smith, J","said ""hi"""\n"multi\nline",x\n');
    assert.deepEqual(table.header, ['name', 'note']);
    assert.deepEqual(table.rows, [
      ['Smith, J', 'said "hi"'],
      ['multi\nline', 'x'],
    ]);
  });

  it('types a column numeric only when every present cell is a number, and empty cells are missing', () => {
    const data = toDataset(parseCsv('a,b,c\n1,x,\n,2,\n-3.5e1,y,\n'));
    const [a, b, c] = data.columns;
    assert.equal(a!.kind, 'numeric');
    assert.deepEqual(a!.values, [1, null, -35]);
    assert.equal(b!.kind, 'categorical');
    assert.deepEqual(b!.values, ['x', '2', 'y']);
    // A column with nothing in it has no numbers to speak of.
    assert.equal(c!.kind, 'categorical');
    assert.deepEqual(c!.values, [null, null, null]);
  });

  it('does not mistake hexadecimal or Infinity for numbers', () => {
    assert.equal(toDataset(parseCsv('a\n0x10\n1\n')).columns[0]!.kind, 'categorical');
    assert.equal(toDataset(parseCsv('a\nInfinity\n1\n')).columns[0]!.kind, 'categorical');
  });

  it('rejects a row with the wrong number of fields, an unterminated quote and a row limit overrun', () => {
    assert.throws(() => parseCsv('a,b\n1\n'), CsvError);
    assert.throws(() => parseCsv('a,b\n"1,2\n'), CsvError);
    assert.throws(() => parseCsv('a\n1\n2\n3\n', 2), CsvError);
  });

  it('writes back what it reads', () => {
    const rows = [['Smith, J', 'said "hi"', ' pad']];
    const text = formatCsv(['name', 'note', 'space'], rows);
    assert.deepEqual(parseCsv(text).rows, rows);
  });
});

describe('reading straight into columns', () => {
  it('gives the same columns as parsing a table and typing it, on german_credit and the synthetic set', async () => {
    const { readFileSync } = await import('node:fs');
    const { GERMAN_CREDIT_CSV } = await import('../../src/paths.ts');
    const { creditDefaultCsv } = await import('./credit-default-synthetic.ts');
    const { parseCsvDataset } = await import('../../src/risk/model/csv.ts');
    for (const text of [
      readFileSync(GERMAN_CREDIT_CSV, 'utf8'),
      creditDefaultCsv(2000, 3),
      'a,b\n" x ",1\n"multi\nline"z,NA\n',
    ]) {
      const typed = parseCsvDataset(text);
      // numbers in one shared Float64Array each, NaN where toDataset has null; otherwise the same
      for (const c of typed.columns) {
        if (c.kind === 'numeric')
          assert.ok(c.values instanceof Float64Array && c.values.buffer instanceof SharedArrayBuffer);
      }
      const asArrays = typed.columns.map((c) => ({
        ...c,
        values: Array.from(c.values as ArrayLike<number | string | null>, (v) => (isPresent(v) ? v : null)),
      }));
      assert.deepEqual({ ...typed, columns: asArrays }, toDataset(parseCsv(text)));
    }
    assert.throws(() => parseCsvDataset('a,b\n1\n'), CsvError);
    assert.throws(() => parseCsvDataset('a\n1\n2\n3\n', undefined, 2), CsvError);
  });
});
