/**
 * The risk commands that work on the platform's database: the model registry
 * (`fenqi risk models register|list|promote`), training from the platform's own loans
 * (`fenqi risk train --from-platform`) and monitoring (`fenqi risk monitor`). They connect with the
 * same configuration as the server (DATABASE_URL, or the embedded data directory).
 */
import type { Command } from 'commander';
import {
  ACT_PSI,
  DEFAULT_BAD_DPD,
  DEFAULT_MONITOR_DAYS,
  DEFAULT_WINDOW_DAYS,
  type MonitorReport,
  WATCH_PSI,
} from '../../risk/model/monitor.ts';
import { withDatabase } from '../database.ts';
import { readJsonFile } from '../json-file.ts';
import { UsageError } from '../usage-error.ts';

/** Width of the longest bar in the monitor's console charts, in characters. */
const BAR_WIDTH = 40;

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

function asOfDate(text: string | undefined): string {
  if (text === undefined) return new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new UsageError(`--as-of must be a date like 2025-06-30, got "${text}"`);
  }
  return text;
}

const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
const progress = (message: string): boolean => process.stderr.write(`${message}\n`);

function bar(value: number, max: number, char = '█'): string {
  const n = max > 0 ? Math.round((Math.max(0, value) / max) * BAR_WIDTH) : 0;
  return char.repeat(n);
}

export interface PlatformTrainFlags {
  badDpd: string;
  windowDays: string;
  asOf?: string;
  cv: string;
  seed: string;
  json?: boolean;
}

/** `fenqi risk train --from-platform`: matured loans -> training pipeline -> a new challenger. */
export async function trainFromPlatformCommand(flags: PlatformTrainFlags): Promise<void> {
  const badDpd = integer('--bad-dpd', flags.badDpd, 1, 3650);
  const windowDays = integer('--window-days', flags.windowDays, 1, 3650);
  const folds = integer('--cv', flags.cv, 0, 20);
  if (folds === 1) throw new UsageError('--cv must be 0 or at least 2');
  const seed = integer('--seed', flags.seed, 0, 2 ** 32 - 1);
  const asOf = asOfDate(flags.asOf);
  const { platformDataset } = await import('../../risk/model/monitor.ts');
  const { maturedLoans } = await import('../../store/risk-platform.ts');
  const { train, TrainInputError } = await import('../../risk/model/train.ts');
  const { registerModel } = await import('../../store/models.ts');
  await withDatabase(async (db) => {
    progress(`reading loans matured by ${asOf} (window ${windowDays} days, bad at ${badDpd}+ days past due)`);
    const loans = await maturedLoans(db.sql, { badDpd, windowDays, asOf });
    const bads = loans.filter((l) => l.bad).length;
    progress(`${loans.length} matured loans, ${bads} bad`);
    let result: ReturnType<typeof train>;
    try {
      result = train(platformDataset(loans), {
        target: 'bad',
        badValue: '1',
        folds,
        seed,
        onProgress: progress,
      });
    } catch (err) {
      if (err instanceof TrainInputError)
        throw new UsageError(`cannot train from the platform: ${err.message}`);
      throw err;
    }
    const { model } = result;
    const registered = await registerModel(db.sql, model, {
      role: 'challenger',
      source: 'platform',
      note: `platform loans matured by ${asOf}, bad at ${badDpd}+ dpd within ${windowDays} days`,
    });
    const headline = model.metrics.cv?.mean ?? model.metrics.training;
    out(
      `trained on ${model.rows} matured loans (${model.bads} bad); features: ${model.features.map((f) => f.name).join(', ')}`,
    );
    out(`AUC ${headline.auc.toFixed(4)}  Gini ${headline.gini.toFixed(4)}  KS ${headline.ks.toFixed(4)}`);
    out(`registered as challenger, model version ${registered!.version}`);
    if (flags.json) {
      out(
        JSON.stringify({
          version: registered!.version,
          id: registered!.id.toString(),
          rows: model.rows,
          bads: model.bads,
          auc: headline.auc,
          gini: headline.gini,
          ks: headline.ks,
          features: model.features.map((f) => f.name),
        }),
      );
    }
  });
}

async function registerCommand(flags: {
  model: string;
  champion?: boolean;
  challenger?: boolean;
  note?: string;
}) {
  if (flags.champion && flags.challenger) throw new UsageError('give --champion or --challenger, not both');
  const { parseModel, TrainInputError } = await import('../../risk/model/train.ts');
  const { registerModel } = await import('../../store/models.ts');
  const parsed = readJsonFile(flags.model, 'model');
  let model: ReturnType<typeof parseModel>;
  try {
    model = parseModel(parsed);
  } catch (err) {
    if (err instanceof TrainInputError) throw new UsageError(err.message);
    throw err;
  }
  await withDatabase(async (db) => {
    const registered = await registerModel(db.sql, model, {
      role: flags.champion ? 'champion' : 'challenger',
      source: 'file',
      note: flags.note ?? `from ${flags.model}`,
    });
    out(`registered model version ${registered!.version} as ${registered!.role}`);
    out(
      JSON.stringify({ version: registered!.version, id: registered!.id.toString(), role: registered!.role }),
    );
  });
}

async function listCommand(flags: { json?: boolean }) {
  const { listModels } = await import('../../store/models.ts');
  await withDatabase(async (db) => {
    const models = await listModels(db.sql);
    out('version  role        source     AUC     rows   created               features');
    for (const m of models) {
      out(
        `${String(m.version).padStart(7)}  ${m.role.padEnd(10)}  ${m.source.padEnd(9)}  ${(m.metrics.auc ?? 0).toFixed(3)}  ${String(m.metrics.rows).padStart(6)}   ${m.createdAt.toISOString().slice(0, 19)}   ${m.metrics.features.join(', ')}`,
      );
    }
    if (flags.json) {
      out(
        JSON.stringify(
          models.map((m) => ({
            version: m.version,
            id: m.id.toString(),
            role: m.role,
            source: m.source,
            ...m.metrics,
          })),
        ),
      );
    }
  });
}

async function promoteCommand(version: string) {
  const v = integer('model version', version, 1, 2 ** 31 - 1);
  const { promoteModel } = await import('../../store/models.ts');
  await withDatabase(async (db) => {
    const promoted = await promoteModel(db.sql, v);
    if (!promoted) throw new UsageError(`no model version ${v}`);
    out(`model version ${v} is now the champion (running APIs pick it up within seconds)`);
  });
}

interface MonitorFlags {
  model?: string;
  days: string;
  badDpd: string;
  windowDays: string;
  asOf?: string;
  json?: boolean;
}

/** The score histogram against training, PSI per feature, and AUC on matured loans, as text. */
function printDrift(report: MonitorReport): void {
  if (report.score) {
    out();
    out('score distribution, share per training decile (░ training, █ now)');
    const share = (xs: number[]) => {
      const t = xs.reduce((a, b) => a + b, 0);
      return xs.map((x) => (t > 0 ? x / t : 0));
    };
    const tr = share(report.score.training);
    const cu = share(report.score.current);
    const max = Math.max(...tr, ...cu);
    const width = Math.max(...report.score.labels.map((l) => l.length));
    report.score.labels.forEach((label, i) => {
      out(`${label.padEnd(width)}  ░ ${bar(tr[i]!, max, '░')} ${(100 * tr[i]!).toFixed(1)}%`);
      out(`${''.padEnd(width)}  █ ${bar(cu[i]!, max)} ${(100 * cu[i]!).toFixed(1)}%`);
    });
    out();
    out('population stability index');
    const all = [report.score, ...report.features];
    const nameWidth = Math.max(...all.map((d) => d.name.length));
    const maxPsi = Math.max(ACT_PSI, ...all.map((d) => d.psi));
    for (const d of all) {
      out(`${d.name.padEnd(nameWidth)}  ${d.psi.toFixed(3)}  ${d.flag.padEnd(6)}  ${bar(d.psi, maxPsi)}`);
    }
  } else {
    out('no decisions in the window: nothing to compare');
  }
  out();
  out(
    report.matured.auc === null
      ? `matured loans: ${report.matured.loans} (${report.matured.bads} bad): AUC needs goods and bads`
      : `matured loans: ${report.matured.loans} (${report.matured.bads} bad), AUC ${report.matured.auc.toFixed(4)}`,
  );
}

async function monitorCommand(flags: MonitorFlags) {
  const days = integer('--days', flags.days, 1, 3650);
  const badDpd = integer('--bad-dpd', flags.badDpd, 1, 3650);
  const windowDays = integer('--window-days', flags.windowDays, 1, 3650);
  const asOf = asOfDate(flags.asOf);
  const { activeModels, getModelByVersion } = await import('../../store/models.ts');
  const { monitor } = await import('../../risk/model/monitor.ts');
  const { maturedLoans, recentInputs } = await import('../../store/risk-platform.ts');
  await withDatabase(async (db) => {
    const loaded =
      flags.model === undefined
        ? (await activeModels(db.sql)).champion
        : await getModelByVersion(db.sql, integer('--model', flags.model, 1, 2 ** 31 - 1));
    if (!loaded)
      throw new UsageError(flags.model ? `no model version ${flags.model}` : 'no champion model registered');
    const since = new Date(Date.parse(`${asOf}T23:59:59.999Z`) - days * 86_400_000);
    progress(`reading decisions since ${since.toISOString().slice(0, 10)} and loans matured by ${asOf}`);
    const recent = await recentInputs(db.sql, since);
    const matured = await maturedLoans(db.sql, { badDpd, windowDays, asOf });
    const report = monitor(loaded.model, recent, matured);

    out(
      `model version ${loaded.version} (${loaded.role}); ${report.decisions} decisions in the last ${days} days`,
    );
    out(`PSI: under ${WATCH_PSI} stable, ${WATCH_PSI}-${ACT_PSI} watch, ${ACT_PSI}+ act`);
    printDrift(report);
    if (report.act.length > 0) out(`ACT: ${report.act.join(', ')} shifted`);
    if (report.watch.length > 0) out(`WATCH: ${report.watch.join(', ')} drifting`);
    if (flags.json) {
      out(
        JSON.stringify({
          model_version: loaded.version,
          decisions: report.decisions,
          score_psi: report.score?.psi ?? null,
          score_flag: report.score?.flag ?? null,
          features: Object.fromEntries(report.features.map((f) => [f.name, { psi: f.psi, flag: f.flag }])),
          matured: report.matured,
          watch: report.watch,
          act: report.act,
        }),
      );
    }
  });
}

/** Adds the platform subcommands to `fenqi risk`. */
export function registerPlatformCommands(risk: Command): void {
  const models = risk.command('models').description('the model registry: register, list, promote');
  models
    .command('register')
    .description('register a model JSON (from `fenqi risk train --out`)')
    .requiredOption('--model <file>', 'model JSON')
    .option('--champion', 'make it the champion now (the current one is retired)')
    .option('--challenger', 'score it in shadow next to the champion (default)')
    .option('--note <text>', 'why it was registered')
    .action(registerCommand);
  models
    .command('list')
    .description('every registered model with its role and training metrics')
    .option('--json', 'print the list as JSON as the last line')
    .action(listCommand);
  models
    .command('promote')
    .description('make a model version the champion')
    .argument('<version>')
    .action(promoteCommand);
  risk
    .command('monitor')
    .description('PSI of score and features against training, AUC on matured loans; flags drift')
    .option('--model <version>', 'model version to monitor (default: the champion)')
    .option('--days <n>', 'decisions of the last n days', String(DEFAULT_MONITOR_DAYS))
    .option('--bad-dpd <n>', 'days past due that make a loan bad', String(DEFAULT_BAD_DPD))
    .option('--window-days <n>', 'performance window of a loan', String(DEFAULT_WINDOW_DAYS))
    .option('--as-of <date>', 'monitoring date, YYYY-MM-DD (default today)')
    .option('--json', 'print a JSON summary as the last line')
    .action(monitorCommand);
}
