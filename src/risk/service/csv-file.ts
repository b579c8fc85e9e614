/** Reads a CSV file for the risk tools; parsing and typing are the model's (risk/model/csv.ts). */
import { readFileSync } from 'node:fs';
import { CsvError, type CsvTable, MAX_CSV_ROWS, parseCsv } from '../model/csv.ts';

export function readCsvFile(path: string, maxRows = MAX_CSV_ROWS): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CsvError(`cannot read ${path} (${code})`);
  }
  return parseCsv(text, maxRows);
}
