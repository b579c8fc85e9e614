/**
 * The reports an operator keeps: each drill's (Markdown and JSON, src/ops/report.ts) and each
 * rehearsal's (an HTML page and its record as JSON, `fenqi rehearse report`), listed from their
 * directories one run per entry, with its kind, date and outcome, newest first.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** A listing never reads more than this many files per directory. */
export const MAX_REPORTS_LISTED = 1_000;
/** A record larger than this is not a report's (a listing never reads it whole). */
export const MAX_RECORD_BYTES = 1_000_000;
const REPORT_FILE = /\.(md|json|html)$/;
const DRILL_FILE = /^drill-(failover|region|restore)-/;

export type ReportKind = 'failover' | 'region' | 'restore' | 'rehearsal';
/** Drills pass or fail; a rehearsal ran its profile out, was stopped by a guard rail, or never finished. */
export type ReportOutcome = 'pass' | 'fail' | 'completed' | 'stopped' | 'unfinished' | 'unknown';

/** What `fenqi rehearse report` keeps beside the page: the run's record for this listing. */
export interface RehearsalRecord {
  rehearsal: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: 'completed' | 'stopped' | 'unfinished';
  summary: string;
}

export interface ReportEntry {
  kind: ReportKind;
  /** When the run started (the file's modification time when its record is missing). */
  date: string;
  outcome: ReportOutcome;
  summary: string;
  files: string[];
}

/** The record beside a rehearsal's page, `<page without .html>.json`. */
export function rehearsalRecordFile(page: string): string {
  return page.endsWith('.html') ? `${page.slice(0, -'.html'.length)}.json` : `${page}.json`;
}

async function readRecord(file: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!file || (await stat(file)).size > MAX_RECORD_BYTES) return undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not a record: listed by its file's date, outcome unknown
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One run's entry from its files (same name, different extensions). */
async function entryOf(dirKind: 'drill' | 'rehearsal', files: string[]): Promise<ReportEntry | undefined> {
  const record = await readRecord(files.find((f) => f.endsWith('.json')));
  const modified = (await stat(files[0]!)).mtime.toISOString();
  if (dirKind === 'drill') {
    const kind = text(record?.drill) ?? DRILL_FILE.exec(path.basename(files[0]!))?.[1];
    if (kind !== 'failover' && kind !== 'region' && kind !== 'restore') return undefined;
    const verdict = text(record?.verdict);
    return {
      kind,
      date: text(record?.startedAt) ?? modified,
      outcome: verdict === 'pass' || verdict === 'fail' ? verdict : 'unknown',
      summary: text(record?.summary) ?? '',
      files,
    };
  }
  const outcome = text(record?.outcome);
  return {
    kind: 'rehearsal',
    date: text(record?.startedAt) ?? modified,
    outcome:
      outcome === 'completed' || outcome === 'stopped' || outcome === 'unfinished' ? outcome : 'unknown',
    summary: text(record?.summary) ?? '',
    files,
  };
}

export async function listReports(dirs: Record<'drill' | 'rehearsal', string>): Promise<ReportEntry[]> {
  const entries: ReportEntry[] = [];
  for (const [dirKind, dir] of Object.entries(dirs) as ['drill' | 'rehearsal', string][]) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => REPORT_FILE.test(n)).slice(0, MAX_REPORTS_LISTED);
    } catch {
      continue; // nothing kept there yet
    }
    const runs = new Map<string, string[]>();
    for (const name of names.sort()) {
      const run = name.replace(REPORT_FILE, '');
      runs.set(run, [...(runs.get(run) ?? []), path.resolve(dir, name)]);
    }
    for (const files of runs.values()) {
      const entry = await entryOf(dirKind, files);
      if (entry) entries.push(entry);
    }
  }
  return entries.sort((a, b) => b.date.localeCompare(a.date));
}
