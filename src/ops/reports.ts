/**
 * The reports an operator keeps: each drill's (Markdown and JSON, src/ops/report.ts) and each
 * rehearsal's (HTML, `fenqi rehearse report`), listed from their directories, newest first.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** A listing never reads more than this many files per directory. */
export const MAX_REPORTS_LISTED = 1_000;
const REPORT_FILE = /\.(md|json|html)$/;

export interface ReportEntry {
  kind: 'drill' | 'rehearsal';
  file: string;
  modified: string;
  bytes: number;
}

export async function listReports(dirs: Record<ReportEntry['kind'], string>): Promise<ReportEntry[]> {
  const entries: ReportEntry[] = [];
  for (const [kind, dir] of Object.entries(dirs) as [ReportEntry['kind'], string][]) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => REPORT_FILE.test(n)).slice(0, MAX_REPORTS_LISTED);
    } catch {
      continue; // nothing kept there yet
    }
    for (const name of names) {
      const file = path.resolve(dir, name);
      const info = await stat(file);
      entries.push({ kind, file, modified: info.mtime.toISOString(), bytes: info.size });
    }
  }
  return entries.sort((a, b) => b.modified.localeCompare(a.modified));
}
