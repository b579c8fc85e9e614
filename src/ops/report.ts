/**
 * Drill reports: the record an auditor asks for. Each drill writes the same facts twice, as JSON
 * for machines and Markdown for people, named by drill and start time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  drill: 'failover' | 'region' | 'restore';
  verdict: 'pass' | 'fail';
  summary: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Whether the drill stood up its own one-machine topology (and tore it down). */
  ownTopology: boolean;
  timings: Record<string, number | null>;
  figures: Record<string, number | string | boolean | null>;
  checks: Check[];
  notes: string[];
  files?: { json: string; markdown: string };
}

export function verdictOf(checks: Check[]): 'pass' | 'fail' {
  return checks.length > 0 && checks.every((c) => c.ok) ? 'pass' : 'fail';
}

export function toMarkdown(report: DrillReport): string {
  const lines = [
    `# Drill report: ${report.drill}`,
    '',
    `**Verdict: ${report.verdict.toUpperCase()}** — ${report.summary}`,
    '',
    `- started: ${report.startedAt}`,
    `- finished: ${report.finishedAt} (${(report.durationMs / 1000).toFixed(1)} s)`,
    `- topology: ${report.ownTopology ? 'one-machine topology stood up for this drill' : 'existing topology'}`,
    '',
    '## Timings',
    '',
    '| timing | ms |',
    '|---|---:|',
    ...Object.entries(report.timings).map(([k, v]) => `| ${k} | ${v ?? '—'} |`),
    '',
    '## Figures',
    '',
    '| figure | value |',
    '|---|---|',
    ...Object.entries(report.figures).map(([k, v]) => `| ${k} | ${v ?? '—'} |`),
    '',
    '## Checks',
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...report.checks.map(
      (c) => `| ${c.name} | ${c.ok ? 'ok' : 'FAILED'} | ${c.detail.replaceAll('|', '\\|')} |`,
    ),
    '',
  ];
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

export async function writeReport(dir: string, report: DrillReport): Promise<DrillReport> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replaceAll(':', '').replace(/\.\d+Z$/, 'Z');
  const base = path.join(path.resolve(dir), `drill-${report.drill}-${stamp}`);
  const withFiles = { ...report, files: { json: `${base}.json`, markdown: `${base}.md` } };
  await writeFile(`${base}.json`, JSON.stringify(withFiles, null, 2) + '\n');
  await writeFile(`${base}.md`, toMarkdown(withFiles));
  return withFiles;
}
