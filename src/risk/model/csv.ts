/**
 * CSV in and out for the risk tools. RFC 4180 style: a header line, comma separated, fields may be
 * quoted, a doubled quote inside quotes is a literal quote, and quoted fields may hold commas and
 * line breaks. An empty cell, or one holding an NA token ("nan", "NA", "null", "?", ...), is a
 * missing value; a column is numeric when every present cell is a plain decimal number, otherwise
 * it is categorical, so one stray token no longer turns a numeric column into categories. Pure: reading the file is csv-file.ts's job
 * (risk/service), so the model stays free of I/O.
 */

/** Training sets beyond this belong in a database query, not in one process's memory. */
export const MAX_CSV_ROWS = 2_000_000;
export const MAX_CSV_COLUMNS = 2_000;

export class CsvError extends Error {
  override name = 'CsvError';
}

export interface CsvTable {
  header: string[];
  rows: string[][];
}

export interface NumericColumn {
  name: string;
  kind: 'numeric';
  values: (number | null)[];
}

export interface CategoricalColumn {
  name: string;
  kind: 'categorical';
  values: (string | null)[];
}

export type Column = NumericColumn | CategoricalColumn;

export interface Dataset {
  columns: Column[];
  rowCount: number;
}

// Deliberately narrower than Number(): '0x10', 'Infinity' and ' ' must not pass as numbers.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Cells that mean "no value" in the files risk teams export (pandas, R, SAS, spreadsheets). */
export const DEFAULT_NA_TOKENS: readonly string[] = ['', 'nan', 'NA', 'N/A', 'null', 'NULL', '?'];
/** Most NA tokens a caller may configure. */
export const MAX_NA_TOKENS = 50;

export interface TypingOptions {
  /** Cells (compared after trimming, case-sensitive) read as missing values. */
  naTokens: readonly string[];
}

export const DEFAULT_TYPING: TypingOptions = { naTokens: DEFAULT_NA_TOKENS };

const naSets = new WeakMap<readonly string[], Set<string>>();

function naSet(tokens: readonly string[]): Set<string> {
  let set = naSets.get(tokens);
  if (!set) {
    set = new Set(['', ...tokens.map((t) => t.trim())]);
    naSets.set(tokens, set);
  }
  return set;
}

/** Empty, or one of the NA tokens: an empty cell is always missing, whatever the tokens. */
export function isMissing(
  cell: string | undefined | null,
  naTokens: readonly string[] = DEFAULT_NA_TOKENS,
): boolean {
  return cell === undefined || cell === null || naSet(naTokens).has(cell.trim());
}

/** A plain decimal number, or null when the cell is missing or not a number. */
export function parseNumber(cell: string | undefined | null): number | null {
  if (cell === undefined || cell === null) return null;
  const text = cell.trim();
  if (!DECIMAL.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function parseCsv(text: string, maxRows = MAX_CSV_ROWS): CsvTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = (): void => {
    record.push(field);
    field = '';
    // A blank line (one empty field) carries no data; skipping it tolerates trailing newlines.
    if (!(record.length === 1 && record[0] === '')) {
      if (records.length > maxRows) throw new CsvError(`more than ${maxRows} data rows`);
      records.push(record);
    }
    record = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field.trim() !== '') throw new CsvError(`line ${line}: quote inside an unquoted field`);
      field = '';
      inQuotes = true;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      if (record.length > MAX_CSV_COLUMNS) throw new CsvError(`more than ${MAX_CSV_COLUMNS} columns`);
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
    } else {
      field += ch;
    }
  }
  if (inQuotes) throw new CsvError(`line ${line}: unterminated quoted field`);
  if (field !== '' || record.length > 0) endRecord();

  const header = records.shift();
  if (!header) throw new CsvError('empty file: no header line');
  const names = header.map((h) => h.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') throw new CsvError('header has an empty column name');
    if (seen.has(name)) throw new CsvError(`header repeats column "${name}"`);
    seen.add(name);
  }
  records.forEach((row, r) => {
    if (row.length !== names.length) {
      throw new CsvError(`data row ${r + 1} has ${row.length} fields, the header has ${names.length}`);
    }
  });
  return { header: names, rows: records };
}

/**
 * Types each column: numeric only if every present cell is a number (and at least one is present).
 * NA tokens are missing before the test, so "nan" in an income column leaves it numeric.
 */
export function toDataset(table: CsvTable, typing: TypingOptions = DEFAULT_TYPING): Dataset {
  if (typing.naTokens.length > MAX_NA_TOKENS) throw new CsvError(`more than ${MAX_NA_TOKENS} NA tokens`);
  const missing = (cell: string): boolean => isMissing(cell, typing.naTokens);
  const columns: Column[] = table.header.map((name, c) => {
    const cells = table.rows.map((row) => row[c]!);
    let present = 0;
    let numeric = true;
    for (const cell of cells) {
      if (missing(cell)) continue;
      present++;
      if (parseNumber(cell) === null) {
        numeric = false;
        break;
      }
    }
    if (numeric && present > 0) {
      return { name, kind: 'numeric', values: cells.map((cell) => parseNumber(cell)) };
    }
    return { name, kind: 'categorical', values: cells.map((cell) => (missing(cell) ? null : cell.trim())) };
  });
  return { columns, rowCount: table.rows.length };
}

function quoteCell(cell: string): string {
  return /[",\r\n]/.test(cell) || cell !== cell.trim() ? `"${cell.replaceAll('"', '""')}"` : cell;
}

export function formatCsv(header: string[], rows: (string | number)[][]): string {
  const lines = [header, ...rows].map((row) => row.map((cell) => quoteCell(String(cell))).join(','));
  return lines.join('\n') + '\n';
}
