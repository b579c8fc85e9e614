/**
 * `fenqi risk train` and `fenqi risk score`: the scorecard engine on CSV files, no servers needed.
 * Human-readable results go to stdout (with --json, one JSON object as the last line), progress to
 * stderr, and any problem with the input is a one-line usage error (exit 2).
 */
import type { Command } from 'commander';
import type { Dataset, TypingOptions } from '../../risk/model/csv.ts';
import { DEFAULT_BAD_DPD, DEFAULT_WINDOW_DAYS } from '../../risk/model/monitor.ts';
import type { ScorecardModel } from '../../risk/model/train.ts';
import { readJsonFile } from '../json-file.ts';
import { UsageError } from '../usage-error.ts';
import { registerAdminCommands } from './risk-admin.ts';
import { registerPlatformCommands, trainFromPlatformCommand } from './risk-platform.ts';

/** Width of the longest IV bar in the console chart, in characters. */
const IV_BAR_WIDTH = 40;

interface TrainFlags {
  data: string;
  target: string;
  badValue: string;
  fromPlatform?: boolean;
  badDpd: string;
  windowDays: string;
  asOf?: string;
  exclude?: string;
  cv: string;
  seed: string;
  out?: string;
  json?: boolean;
  report?: string;
  oot?: string;
  ootSplit?: string;
  minIv?: string;
  maxBins?: string;
  monotonic?: string;
  naTokens?: string;
  specialValues?: string;
  specialPolicy?: string;
  missingPolicy?: string;
  selection?: string;
  complexity?: string;
  coding?: string;
  model?: string;
  boostMonotone?: string;
  ratios?: string;
  bagCards?: string;
  workers?: string;
}

interface ScoreFlags {
  model: string;
  data: string;
  out?: string;
  keep?: string;
}

function integerFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function numberFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Input problems are the user's to fix: report them as usage errors, not crashes. */
async function asUsage<T>(work: () => Promise<T> | T): Promise<T> {
  const { CsvError } = await import('../../risk/model/csv.ts');
  const { TrainInputError } = await import('../../risk/model/train.ts');
  try {
    return await work();
  } catch (err) {
    if (err instanceof CsvError || err instanceof TrainInputError) throw new UsageError(err.message);
    throw err;
  }
}

function progressReporter(): (message: string) => void {
  const start = performance.now();
  return (message) => {
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    process.stderr.write(`[${seconds}s] ${message}\n`);
  };
}

function bar(value: number, max: number): string {
  const eighths = max > 0 ? Math.round((Math.max(0, value) / max) * IV_BAR_WIDTH * 8) : 0;
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]!;
  return '█'.repeat(Math.floor(eighths / 8)) + partial;
}

/** Discrimination per fold, then information value per candidate feature, as text. */
function printTraining(model: ScorecardModel, out: (line?: string) => boolean): void {
  out('fold   rows   bads     AUC    Gini      KS');
  const line = (
    label: string,
    rows: string,
    bads: string,
    m: { auc: number; gini: number; ks: number },
  ): boolean =>
    out(
      `${label.padEnd(5)} ${rows.padStart(5)} ${bads.padStart(6)}  ${m.auc.toFixed(4)}  ${m.gini.toFixed(4)}  ${m.ks.toFixed(4)}`,
    );
  const cv = model.metrics.cv;
  for (const f of cv?.folds ?? []) line(String(f.fold), String(f.rows), String(f.bads), f);
  if (cv) line('mean', '', '', cv.mean);
  line('train', String(model.rows), String(model.bads), model.metrics.training);
  out();
  out('information value (█ in the model, ░ screened out)');
  const width = Math.max(...model.screening.map((s) => s.feature.length));
  const maxIv = Math.max(...model.screening.map((s) => s.iv));
  for (const s of model.screening) {
    const drawn = s.selected ? bar(s.iv, maxIv) : bar(s.iv, maxIv).replace(/[█▏▎▍▌▋▊▉]/g, '░');
    const notes = [s.coded ? 'codes' : '', s.note].filter((n) => n !== '').join('; ');
    out(`${s.feature.padEnd(width)}  ${s.iv.toFixed(3)}  ${drawn}${notes ? `  ${notes}` : ''}`);
  }
}

function choice<T extends string>(
  flag: string,
  text: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!choices.includes(text as T)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}`);
  return text as T;
}

/** --max-bins, --monotonic, --special-values, --special-policy and --min-iv over the defaults. */
async function binningFlags(flags: TrainFlags) {
  const { DEFAULT_BINNING, MAX_BINS, MAX_SPECIAL_VALUES, MONOTONIC_CHOICES } = await import(
    '../../risk/model/binning.ts'
  );
  const binning = { ...DEFAULT_BINNING };
  if (flags.maxBins !== undefined) binning.maxBins = integerFlag('--max-bins', flags.maxBins, 1, MAX_BINS);
  binning.monotonic = choice('--monotonic', flags.monotonic, MONOTONIC_CHOICES) ?? binning.monotonic;
  binning.specialPolicy =
    choice('--special-policy', flags.specialPolicy, ['bin', 'missing'] as const) ?? binning.specialPolicy;
  const specials = list(flags.specialValues);
  if (specials.length > MAX_SPECIAL_VALUES)
    throw new UsageError(`at most ${MAX_SPECIAL_VALUES} --special-values`);
  binning.specialValues = specials.map((v) =>
    numberFlag('--special-values', v, -Number.MAX_VALUE, Number.MAX_VALUE),
  );
  const minIv = flags.minIv === undefined ? undefined : numberFlag('--min-iv', flags.minIv, 0, 10);
  return { binning, minIv };
}

/**
 * --na-tokens, --missing-policy, --selection, --complexity, --coding, --ratios, --bag-cards, --model
 * and --boost-monotone.
 */
async function modelFlags(flags: TrainFlags) {
  const { DEFAULT_NA_TOKENS, MAX_NA_TOKENS } = await import('../../risk/model/csv.ts');
  const { MISSING_POLICIES } = await import('../../risk/model/scorecard.ts');
  const { SELECTIONS, CODINGS } = await import('../../risk/model/fit.ts');
  const { MODEL_KINDS } = await import('../../risk/model/train.ts');
  const { BOOST_MONOTONE, DEFAULT_BOOST } = await import('../../risk/model/boost.ts');
  // "--na-tokens ''" means empty cells only; a list replaces the defaults.
  const naTokens =
    flags.naTokens === undefined ? DEFAULT_NA_TOKENS : flags.naTokens.split(',').map((t) => t.trim());
  if (naTokens.length > MAX_NA_TOKENS) throw new UsageError(`at most ${MAX_NA_TOKENS} --na-tokens`);
  const missingPolicy = choice('--missing-policy', flags.missingPolicy, MISSING_POLICIES);
  const selection = choice('--selection', flags.selection, SELECTIONS);
  const complexity = choice('--complexity', flags.complexity, ['inner-cv', 'fixed'] as const);
  const coding = choice('--coding', flags.coding, CODINGS);
  const model = choice('--model', flags.model, MODEL_KINDS);
  const monotone = choice('--boost-monotone', flags.boostMonotone, BOOST_MONOTONE);
  const ratios = choice('--ratios', flags.ratios, ['on', 'off'] as const);
  const { MAX_BAG_CARDS } = await import('../../risk/model/bagging.ts');
  const bagCards =
    flags.bagCards === undefined ? undefined : integerFlag('--bag-cards', flags.bagCards, 0, MAX_BAG_CARDS);
  if (bagCards !== undefined && bagCards % 2 !== 0)
    throw new UsageError('--bag-cards must be even (pairs of halves)');
  return {
    naTokens,
    ...(coding ? { coding } : {}),
    ...(ratios ? { ratios: ratios === 'on' } : {}),
    ...(bagCards !== undefined ? { bagCards } : {}),
    ...(model ? { model } : {}),
    ...(monotone ? { boost: { ...DEFAULT_BOOST, monotone } } : {}),
    ...(missingPolicy ? { missingPolicy } : {}),
    ...(selection ? { selection } : {}),
    ...(complexity ? { complexity } : {}),
  };
}

/** Reads the file and trains on it with the flags' options, folds on worker threads. */
async function trainFromFile(flags: TrainFlags, folds: number, seed: number, progress: (m: string) => void) {
  const { binning, minIv } = await binningFlags(flags);
  const modelOptions = await modelFlags(flags);
  const { readCsvDataset } = await import('../../risk/service/csv-file.ts');
  const { trainParallel, DEFAULT_TRAIN_WORKERS, MAX_TRAIN_WORKERS } = await import(
    '../../risk/train/parallel.ts'
  );
  const workers =
    flags.workers === undefined
      ? DEFAULT_TRAIN_WORKERS
      : integerFlag('--workers', flags.workers, 0, MAX_TRAIN_WORKERS);
  return asUsage(async () => {
    progress(`reading ${flags.data}`);
    const read = readCsvDataset(flags.data, { naTokens: modelOptions.naTokens });
    progress(`read ${read.rowCount} rows, ${read.columns.length} columns`);
    const { data, oot, exclude } = await outOfTimeSample(flags, read, { naTokens: modelOptions.naTokens });
    if (!data.columns.some((c) => c.name === flags.target)) {
      throw new UsageError(
        `unknown target column "${flags.target}" (columns: ${data.columns.map((c) => c.name).join(', ')})`,
      );
    }
    const options = {
      target: flags.target,
      badValue: flags.badValue,
      exclude,
      folds,
      seed,
      binning,
      ...modelOptions,
      ...(minIv === undefined ? {} : { minIv }),
      onProgress: progress,
    };
    return { result: await trainParallel(data, options, workers), data, oot, exclude };
  });
}

/**
 * The development data and the out-of-time sample for the report: a second file (--oot), or the
 * rows of the data file at or after a period (--oot-split column>=value; that column is then not a feature).
 */
async function outOfTimeSample(flags: TrainFlags, read: Dataset, typing: TypingOptions) {
  const { parseOotSplit, splitOutOfTime } = await import('../../risk/model/validation.ts');
  const exclude = list(flags.exclude);
  if (flags.oot && flags.ootSplit) throw new UsageError('give --oot <file> or --oot-split, not both');
  if (flags.oot) {
    const { readCsvDataset } = await import('../../risk/service/csv-file.ts');
    const data = readCsvDataset(flags.oot, typing);
    return { data: read, oot: { label: flags.oot, data }, exclude };
  }
  if (flags.ootSplit) {
    const split = parseOotSplit(flags.ootSplit);
    if (!split) throw new UsageError(`--oot-split takes column>=value, not "${flags.ootSplit}"`);
    const { development, outOfTime } = splitOutOfTime(read, split);
    const label = `${flags.data} rows with ${split.column} >= ${split.from}`;
    const rest = exclude.includes(split.column) ? exclude : [...exclude, split.column];
    return { data: development, oot: { label, data: outOfTime }, exclude: rest };
  }
  return { data: read, oot: undefined, exclude };
}

async function trainCommand(flags: TrainFlags): Promise<void> {
  if (flags.fromPlatform) return trainFromPlatformCommand(flags);
  for (const [flag, value] of [
    ['--data <file>', flags.data],
    ['--target <column>', flags.target],
    ['--bad-value <value>', flags.badValue],
  ] as const) {
    if (value === undefined)
      throw new UsageError(`required option '${flag}' not specified (or --from-platform)`);
  }
  const folds = integerFlag('--cv', flags.cv, 0, 20);
  if (folds === 1) throw new UsageError('--cv must be 0 (no cross-validation) or at least 2');
  const seed = integerFlag('--seed', flags.seed, 0, 2 ** 32 - 1);
  const progress = progressReporter();
  const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
  const { result, data, oot, exclude } = await trainFromFile(flags, folds, seed, progress);
  const { model } = result;

  out(
    `${flags.data}: ${model.rows} rows, ${model.bads} bad (${((100 * model.bads) / model.rows).toFixed(1)}%), ` +
      `${model.screening.length} candidate features, ${model.features.length} in the model`,
  );
  out();
  printTraining(model, out);
  out();

  if (flags.out) {
    const { writeFileSync } = await import('node:fs');
    writeFile(writeFileSync, flags.out, JSON.stringify(model, null, 2) + '\n');
    out(`model written to ${flags.out}`);
  }
  if (flags.report) {
    const { writeFileSync } = await import('node:fs');
    const { basename } = await import('node:path');
    const { renderReport } = await import('../../risk/model/report.ts');
    const pack = { data, source: flags.data, exclude, oot };
    writeFile(
      writeFileSync,
      flags.report,
      renderReport(
        result,
        `${model.modelType === 'boosted' ? 'Boosted points table' : 'Scorecard'}: ${basename(flags.data)}`,
        pack,
      ),
    );
    out(`report written to ${flags.report}`);
  }
  if (flags.json) out(JSON.stringify(trainingSummary(model)));
}

/** The --json line: headline metrics (cross-validated when there are folds), IV, features. */
function trainingSummary(model: ScorecardModel) {
  const cv = model.metrics.cv;
  const headline = cv?.mean ?? model.metrics.training;
  return {
    auc: headline.auc,
    gini: headline.gini,
    ks: headline.ks,
    folds: cv?.folds ?? [],
    iv: Object.fromEntries(model.screening.map((s) => [s.feature, s.iv])),
    features: model.features.map((f) => f.name),
    training: model.metrics.training,
  };
}

function writeFile(write: (path: string, text: string) => void, path: string, text: string): void {
  try {
    write(path, text);
  } catch (err) {
    throw new UsageError(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function scoreCommand(flags: ScoreFlags): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const { formatCsv } = await import('../../risk/model/csv.ts');
  const { readCsvFile } = await import('../../risk/service/csv-file.ts');
  const { parseModel } = await import('../../risk/model/train.ts');
  const { scoreRow, MAX_REASONS } = await import('../../risk/model/scorecard.ts');

  const parsed = readJsonFile(flags.model, 'model');
  const model = await asUsage(() => parseModel(parsed));
  const table = await asUsage(() => readCsvFile(flags.data));
  const keep = list(flags.keep);
  // A ratio feature is computed from its two columns, which the file must hold instead.
  const needed = model.features.flatMap((f) =>
    f.ratio ? [f.ratio.numerator, f.ratio.denominator] : [f.name],
  );
  const missing = [...new Set([...needed, ...keep])].filter((n) => !table.header.includes(n));
  if (missing.length > 0) throw new UsageError(`${flags.data} lacks column(s): ${missing.join(', ')}`);
  const keepAt = keep.map((k) => table.header.indexOf(k));

  const progress = progressReporter();
  const header = ['row', ...keep, 'score', 'grade', 'pd_bad'];
  for (let i = 1; i <= MAX_REASONS; i++) header.push(`reason_${i}`);
  const rows: (string | number)[][] = [];
  table.rows.forEach((cells, r) => {
    const record: Record<string, string> = {};
    table.header.forEach((name, c) => {
      record[name] = cells[c]!;
    });
    const s = scoreRow(model, record);
    const reasons = s.reasons.map((x) => x.feature);
    while (reasons.length < MAX_REASONS) reasons.push('');
    rows.push([r + 1, ...keepAt.map((c) => cells[c]!), s.score, s.grade, s.pdBad.toFixed(4), ...reasons]);
    if ((r + 1) % 100_000 === 0) progress(`scored ${r + 1} of ${table.rows.length} rows`);
  });
  const text = formatCsv(header, rows);
  if (flags.out) {
    writeFile(writeFileSync, flags.out, text);
    process.stdout.write(`scored ${rows.length} rows into ${flags.out}\n`);
  } else {
    process.stdout.write(text);
  }
}

export function register(program: Command): void {
  const risk = program.command('risk').description('credit scorecard: train on a CSV, score a CSV');
  risk
    .command('train')
    .description('train a WoE logistic scorecard with cross-validation; prints AUC, Gini, KS and IV')
    .option('--data <file>', 'training data, CSV with a header line')
    .option('--target <column>', 'column holding the outcome')
    .option('--bad-value <value>', 'target value that means bad (default); all others are good')
    .option('--from-platform', 'train on matured platform loans instead and register a challenger')
    .option(
      '--bad-dpd <n>',
      'with --from-platform: days past due that make a loan bad',
      String(DEFAULT_BAD_DPD),
    )
    .option(
      '--window-days <n>',
      'with --from-platform: performance window of a loan',
      String(DEFAULT_WINDOW_DAYS),
    )
    .option('--as-of <date>', 'with --from-platform: date loans must have matured by (default today)')
    .option('--exclude <columns>', 'comma-separated columns not to use as features (ids, dates, leaks)')
    .option('--cv <folds>', 'stratified cross-validation folds, 0 to skip', '5')
    .option('--seed <n>', 'seed of the fold assignment', '42')
    .option('--out <file>', 'write the model JSON here')
    .option('--json', 'print a JSON summary (auc, gini, ks, folds, iv) as the last line')
    .option('--report <file>', 'write an HTML validation report for analysts here')
    .option(
      '--oot <file>',
      'with --report: out-of-time sample (same columns) for PSI and characteristic analysis',
    )
    .option(
      '--oot-split <column>=<value>',
      'with --report: rows with column >= value are the out-of-time sample, not trained on',
    )
    .option('--min-iv <value>', 'drop features with a lower information value (default 0.02)')
    .option('--max-bins <n>', 'most bins per feature, missing-value bin not counted (default 6)')
    .option(
      '--monotonic <trend>',
      'bad-rate shape of numeric bins: auto, ascending, descending, peak, valley, none (default auto)',
    )
    .option(
      '--na-tokens <list>',
      'comma-separated cells read as missing (default: "",nan,NA,N/A,null,NULL,?)',
    )
    .option('--special-values <list>', 'comma-separated numeric codes that are not measurements (e.g. -999)')
    .option('--special-policy <policy>', 'special values: bin (a bin each, default) or missing')
    .option(
      '--missing-policy <policy>',
      'a blank at scoring: trained-else-worst (default), worst, neutral (WoE 0, before v2)',
    )
    .option('--selection <rule>', 'feature selection: l2 (default), stepwise (AIC), iv (IV screen + signs)')
    .option('--workers <n>', 'worker threads for the cross-validation folds, 0 for none (default 1)')
    .option(
      '--complexity <how>',
      'bins, L2 penalty and coding: inner-cv (default, up to 20,000 rows) or fixed',
    )
    .option(
      '--coding <how>',
      'woe (default, one weight per feature) or bins (per bin; with inner-cv: offered to the search)',
    )
    .option('--model <kind>', 'scorecard (default) or boosted (stumps on fine bins: still a points table)')
    .option('--ratios <on|off>', 'offer suppressor / partner ratios as candidate features (default on)')
    .option(
      '--bag-cards <n>',
      'with inner-cv, up to 20,000 rows: average this many cards fitted on halves of the rows (default 100, 0 for one card)',
    )
    .option('--boost-monotone <how>', 'with --model boosted: auto (trends kept, default) or none')
    .action(trainCommand);
  risk
    .command('score')
    .description('score every row of a CSV: score, grade A-E, probability of bad, top reason codes')
    .requiredOption('--model <file>', 'model JSON written by `fenqi risk train --out`')
    .requiredOption('--data <file>', 'rows to score, CSV with a header line')
    .option('--out <file>', 'write the scores here instead of stdout')
    .option('--keep <columns>', 'comma-separated input columns to copy into the output (e.g. an id)')
    .action(scoreCommand);
  registerPlatformCommands(risk);
  registerAdminCommands(risk);
}
