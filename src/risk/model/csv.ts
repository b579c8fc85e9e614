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

/**
 * A numeric column's values. Missing is null in an array (toDataset) and NaN in a Float64Array
 * (parseCsvDataset: 8 bytes a row in one SharedArrayBuffer, which the training's worker threads
 * read without a copy). Read them with isPresent, which knows both.
 */
type NumericValues = (number | null)[] | Float64Array;

export interface NumericColumn {
  name: string;
  kind: 'numeric';
  values: NumericValues;
}

/** A value that is there: not null or undefined, and not the NaN a typed column marks missing with. */
export function isPresent<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined && !(typeof value === 'number' && Number.isNaN(value));
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

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Calls onRecord with each record's fields, the header first, in one scan of the text. Unquoted
 * fields are sliced out whole (not built a character at a time): reading a million rows is
 * dominated by this loop. Blank lines carry no data and are skipped.
 */
function forEachRecord(text: string, onRecord: (fields: string[], line: number) => void): void {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let record: string[] = [];
  const n = text.length;
  while (i < n) {
    let field: string;
    const startLine = line;
    let j = i;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
    }
    field = text.slice(i, j);
    i = j;
    if (i < n && text.charCodeAt(i) === QUOTE) {
      // Blanks before an opening quote are dropped; anything else before it is an error.
      if (field.trim() !== '') throw new CsvError(`line ${line}: quote inside an unquoted field`);
      ({ field, next: i, line } = quotedField(text, i, line));
      // Text after the closing quote joins the field, as it always has.
      let k = i;
      while (k < n && ![COMMA, LF, CR, QUOTE].includes(text.charCodeAt(k))) k++;
      if (k < n && text.charCodeAt(k) === QUOTE)
        throw new CsvError(`line ${line}: quote inside an unquoted field`);
      field += text.slice(i, k);
      i = k;
    }
    record.push(field);
    const c = i < n ? text.charCodeAt(i) : LF;
    if (c === COMMA) {
      if (record.length > MAX_CSV_COLUMNS) throw new CsvError(`more than ${MAX_CSV_COLUMNS} columns`);
      i++;
      if (i === n) record.push('');
      continue;
    }
    i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    if (!(record.length === 1 && record[0] === '')) onRecord(record, startLine);
    record = [];
    line++;
  }
  if (record.length > 0 && !(record.length === 1 && record[0] === '')) onRecord(record, line);
}

/** A quoted field starting at `start` (the opening quote): its text and where scanning resumes. */
function quotedField(
  text: string,
  start: number,
  line: number,
): { field: string; next: number; line: number } {
  let field = '';
  let from = start + 1;
  for (;;) {
    const close = text.indexOf('"', from);
    if (close < 0) throw new CsvError(`line ${line}: unterminated quoted field`);
    const chunk = text.slice(from, close);
    for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
    field += chunk;
    if (text.charCodeAt(close + 1) === QUOTE) {
      field += '"';
      from = close + 2;
      continue;
    }
    return { field, next: close + 1, line };
  }
}

function checkHeader(header: string[] | undefined): string[] {
  if (!header) throw new CsvError('empty file: no header line');
  const names = header.map((h) => h.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') throw new CsvError('header has an empty column name');
    if (seen.has(name)) throw new CsvError(`header repeats column "${name}"`);
    seen.add(name);
  }
  return names;
}

export function parseCsv(text: string, maxRows = MAX_CSV_ROWS): CsvTable {
  let header: string[] | undefined;
  const rows: string[][] = [];
  forEachRecord(text, (fields) => {
    if (!header) {
      header = checkHeader(fields);
      return;
    }
    if (rows.length >= maxRows) throw new CsvError(`more than ${maxRows} data rows`);
    if (fields.length !== header.length) {
      throw new CsvError(
        `data row ${rows.length + 1} has ${fields.length} fields, the header has ${header.length}`,
      );
    }
    rows.push(fields);
  });
  return { header: checkHeader(header), rows };
}

/**
 * Reads CSV text straight into typed columns, without the table of strings parseCsv keeps (25
 * million strings for a million rows of 25 columns). Two scans: the first types the columns, the
 * second fills them. Same rules, errors and values as toDataset(parseCsv(text)), numeric columns
 * as shared Float64Arrays (NaN where a cell is missing).
 */
export function parseCsvDataset(
  text: string,
  typing: TypingOptions = DEFAULT_TYPING,
  maxRows = MAX_CSV_ROWS,
): Dataset {
  if (typing.naTokens.length > MAX_NA_TOKENS) throw new CsvError(`more than ${MAX_NA_TOKENS} NA tokens`);
  const na = naSet(typing.naTokens);
  let header: string[] | undefined;
  let rowCount = 0;
  let numeric: boolean[] = [];
  let present: number[] = [];
  forEachRecord(text, (fields) => {
    if (!header) {
      header = checkHeader(fields);
      numeric = header.map(() => true);
      present = header.map(() => 0);
      return;
    }
    if (rowCount >= maxRows) throw new CsvError(`more than ${maxRows} data rows`);
    rowCount++;
    if (fields.length !== header.length) {
      throw new CsvError(`data row ${rowCount} has ${fields.length} fields, the header has ${header.length}`);
    }
    for (let c = 0; c < fields.length; c++) {
      const cell = fields[c]!.trim();
      if (na.has(cell)) continue;
      present[c]!++;
      if (numeric[c] && parseNumber(cell) === null) numeric[c] = false;
    }
  });
  const names = checkHeader(header);
  const columns: Column[] = names.map((name, c) =>
    numeric[c] && present[c]! > 0
      ? { name, kind: 'numeric', values: new Float64Array(new SharedArrayBuffer(rowCount * 8)) }
      : { name, kind: 'categorical', values: new Array<string | null>(rowCount) },
  );
  let r = -2;
  forEachRecord(text, (fields) => {
    if (++r < 0) return;
    for (let c = 0; c < fields.length; c++) {
      const cell = fields[c]!.trim();
      const column = columns[c]!;
      // the first scan found every present cell of a numeric column a finite decimal: no second test
      if (column.kind === 'numeric') column.values[r] = na.has(cell) ? Number.NaN : Number(cell);
      else column.values[r] = na.has(cell) ? null : cell;
    }
  });
  return { columns, rowCount };
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
