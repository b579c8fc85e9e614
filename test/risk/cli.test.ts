import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GERMAN_CREDIT_CSV } from '../../src/paths.ts';
import { parseCsv } from '../../src/risk/model/csv.ts';
import { syntheticCreditCsv } from './synthetic.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const fenqi = path.join(repoRoot, 'bin/fenqi');
const work = mkdtempSync(path.join(tmpdir(), 'fenqi-risk-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** What the boosted challenger reaches on german_credit (5 folds, seed 42): see docs/risk.md. */
const BOOSTED_GERMAN_MIN_AUC = 0.77;

function run(...args: string[]): Run {
  const r = spawnSync(fenqi, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Summary {
  auc: number;
  gini: number;
  ks: number;
  folds: { fold: number; auc: number; gini: number; ks: number }[];
  iv: Record<string, number>;
}

function lastJson(stdout: string): Summary {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines.at(-1)!) as Summary;
}

describe('fenqi risk train', () => {
  const model = path.join(work, 'german.json');
  const report = path.join(work, 'german.html');

  it('reaches a mean AUC of at least 0.795 over 5 folds (seed 42) on german_credit', () => {
    const r = run(
      ...['risk', 'train', '--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk', '--bad-value', '0'],
      ...['--cv', '5', '--seed', '42', '--json', '--out', model, '--report', report],
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.folds.length, 5);
    const mean = summary.folds.reduce((s, f) => s + f.auc, 0) / 5;
    assert.ok(Math.abs(mean - summary.auc) < 1e-12);
    assert.ok(summary.auc >= 0.795, `mean AUC ${summary.auc}`);
    assert.ok(Math.abs(summary.gini - (2 * summary.auc - 1)) < 1e-12);
    assert.ok(summary.ks > 0.3 && summary.ks < 1);
    // status (checking account) is the strongest single predictor in this data set.
    assert.equal(Object.entries(summary.iv).sort((a, b) => b[1] - a[1])[0]![0], 'status');
    assert.match(r.stdout, /^status\s+0\.\d{3}\s+█+/m, 'IV is drawn as a bar chart');
    assert.match(r.stderr, /fold 5\/5/, 'progress goes to stderr');
  });

  it('writes a self-contained HTML report with ROC, distributions, grades and points', () => {
    const html = readFileSync(report, 'utf8');
    for (const part of [
      'ROC curve',
      'Score distributions',
      'Bad rate by grade',
      'Points table',
      'Information value',
      'Gains by score band (out of fold)',
      'Calibration (out of fold)',
      'Expected calibration error',
      'Missing-value policy: <b>trained-else-worst</b>',
      'Data description',
      'Grades (out of fold)',
      '<th>VIF</th>',
      'No out-of-time sample given',
      'Bin stability across folds',
      '<th>kept in folds</th>',
    ]) {
      assert.ok(html.includes(part), part);
    }
    assert.match(html, /<tr><td>status<\/td><td>5\/5<\/td>/, 'status is kept in every fold');
    // the card is bagged here; its coefficient table is the one-card fit's, every term significant or not
    const coefficients = html.slice(
      html.indexOf('<th>VIF</th>'),
      html.indexOf('</table>', html.indexOf('<th>VIF</th>')),
    );
    const terms = [...coefficients.matchAll(/<tr><td>([^<]+)<\/td><td>[^<]+<\/td><td>([^<]+)<\/td>/g)];
    assert.ok(terms.length > 5, 'the coefficient table lists the terms');
    for (const [, term, stdError] of terms)
      assert.ok(Number(stdError) > 0, `${term} has a standard error (${stdError})`);
    const trained = JSON.parse(readFileSync(model, 'utf8'));
    assert.equal(trained.complexity.bagCards > 0, true, 'german_credit is small enough to be bagged');
    assert.ok(trained.reference.features.length > 0, 'the bag keeps its one-card counterpart');
    assert.ok((html.match(/<svg /g) ?? []).length >= 5);
    assert.doesNotMatch(html, /<(script|link|img)\b|src=|href=/, 'no external assets');
  });

  it('trains the boosted challenger (--model boosted) into a points table that fenqi risk score reads', () => {
    const boosted = path.join(work, 'boosted.json');
    const r = run(
      ...['risk', 'train', '--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk', '--bad-value', '0'],
      ...['--cv', '5', '--seed', '42', '--model', 'boosted', '--json', '--out', boosted],
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.folds.length, 5);
    assert.ok(summary.auc >= BOOSTED_GERMAN_MIN_AUC, `mean AUC ${summary.auc}`);
    const model = JSON.parse(readFileSync(boosted, 'utf8'));
    assert.equal(model.modelType, 'boosted');
    assert.ok(model.features.every((f: { coding: string }) => f.coding === 'boosted'));
    const scored = run('risk', 'score', '--model', boosted, '--data', GERMAN_CREDIT_CSV);
    assert.equal(scored.status, 0, scored.stderr);
    assert.equal(scored.stdout.trimEnd().split('\n').length, 1001, 'a header and one line per row');
  });

  it('runs unchanged on a synthetic file with missing values, quoted categories and a text target', () => {
    const csv = path.join(work, 'synthetic.csv');
    writeFileSync(csv, syntheticCreditCsv(3000, 7));
    const r = run(
      ...['risk', 'train', '--data', csv, '--target', 'defaulted', '--bad-value', 'yes'],
      ...['--exclude', 'customer_id', '--cv', '5', '--seed', '42', '--json'],
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.ok(summary.auc >= 0.65 && summary.auc < 0.95, `mean AUC ${summary.auc}`);
    assert.ok(!('customer_id' in summary.iv) && !('defaulted' in summary.iv));
    assert.ok(summary.iv.utilisation! > summary.iv.noise!);
    assert.ok(summary.iv.income! > 0.02, 'income, missing in 12% of rows, still carries signal');
    assert.ok(summary.iv.housing! > 0.02, 'housing, with commas and quotes in its labels, carries signal');
  });

  for (const [why, args, message] of [
    [
      'an unreadable file',
      ['--data', '/nonexistent/x.csv', '--target', 'y', '--bad-value', '1'],
      /cannot read/,
    ],
    [
      'an unknown target column',
      ['--data', GERMAN_CREDIT_CSV, '--target', 'nope', '--bad-value', '0'],
      /unknown target/,
    ],
    [
      'a bad-value that never occurs',
      ['--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk', '--bad-value', '9'],
      /no row/,
    ],
    [
      'a non-numeric --cv',
      ['--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk', '--bad-value', '0', '--cv', 'x'],
      /--cv/,
    ],
    [
      'an unknown --exclude column',
      ['--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk', '--bad-value', '0', '--exclude', 'zzz'],
      /zzz/,
    ],
    ['a missing required flag', ['--data', GERMAN_CREDIT_CSV, '--target', 'credit_risk'], /bad-value/],
  ] as const) {
    it(`exits 2 with a one-line error for ${why}`, () => {
      const r = run('risk', 'train', ...args);
      assert.equal(r.status, 2, r.stderr);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, message);
    });
  }
});

describe('fenqi risk score', () => {
  it('writes the same scores, grades and reasons each time it scores the same rows', () => {
    const model = path.join(work, 'german.json');
    const first = path.join(work, 'scores-1.csv');
    const second = path.join(work, 'scores-2.csv');
    for (const out of [first, second]) {
      const r = run(
        'risk',
        'score',
        '--model',
        model,
        '--data',
        GERMAN_CREDIT_CSV,
        '--keep',
        'credit_risk',
        '--out',
        out,
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const text = readFileSync(first, 'utf8');
    assert.equal(readFileSync(second, 'utf8'), text);
    const table = parseCsv(text);
    assert.deepEqual(table.header.slice(0, 5), ['row', 'credit_risk', 'score', 'grade', 'pd_bad']);
    assert.ok(table.header.includes('reason_1'));
    assert.equal(table.rows.length, 1000);
    const grades = new Set(table.rows.map((r) => r[3]));
    assert.deepEqual([...grades].sort(), ['A', 'B', 'C', 'D', 'E']);
  });

  it('exits 2 when the model file is not a model', () => {
    const bogus = path.join(work, 'bogus.json');
    writeFileSync(bogus, '{"hello": 1}');
    const r = run('risk', 'score', '--model', bogus, '--data', GERMAN_CREDIT_CSV);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a fenqi scorecard model/);
  });
});
