/** Reads a CSV file for the risk tools; parsing and typing are the model's (risk/model/csv.ts). */
import { readFileSync } from 'node:fs';
import {
  CsvError,
  type CsvTable,
  type Dataset,
  MAX_CSV_ROWS,
  parseCsv,
  parseCsvDataset,
  type TypingOptions,
} from '../model/csv.ts';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CsvError(`cannot read ${path} (${code})`);
  }
}

export function readCsvFile(path: string, maxRows = MAX_CSV_ROWS): CsvTable {
  return parseCsv(readText(path), maxRows);
}

/** A training file read straight into typed columns (no table of strings in between). */
export function readCsvDataset(path: string, typing: TypingOptions, maxRows = MAX_CSV_ROWS): Dataset {
  return parseCsvDataset(readText(path), typing, maxRows);
}
