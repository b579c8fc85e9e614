/**
 * `fenqi rehearse run|report|clean` on the opened sides: the load runs against the API while each
 * second's figures and signals are stored through the shadow role; the report is rendered from
 * what was stored; clean works as the shadow schema's owner.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectPostgres, type Queryable } from '../store/db.ts';
import { finishRun, getRehearsal, readRun, recordSample, startRun } from '../store/rehearsals.ts';
import { cleanRehearsal } from './clean.ts';
import { assertTargetAllowed, type RunOutcome, runLoad, type SecondSample } from './load.ts';
import { shadowTargets } from './plan.ts';
import type { GuardRails, Phase } from './profile.ts';
import { type RunSummary, renderReport, summarize } from './report.ts';
import { type Sides, withSides } from './sides.ts';
import { SignalSampler } from './signals.ts';

export interface RunRequest {
  id: string;
  profile: string;
  phases: Phase[];
  rails: GuardRails;
  apiUrl: string;
}

export async function runRehearsal(req: RunRequest, progress: (line: string) => void): Promise<RunOutcome> {
  assertTargetAllowed(req.apiUrl, process.env.FENQI_REHEARSAL_ALLOW_REMOTE === '1');
  return withSides((sides) => runOnSides(sides, req, progress));
}

function progressLine(s: SecondSample): string {
  const p99 = s.p99Us === null ? '-' : (s.p99Us / 1000).toFixed(1);
  return (
    `${s.secondIndex}s ${s.phase} target ${s.targetPerS}/s: accepted ${s.accepted} refused ${s.refused} ` +
    `failed ${s.failed} p99 ${p99} ms backlog ${s.backlog ?? '-'}`
  );
}

export async function runOnSides(
  { shadow, rehearsal, tokenSecret }: Pick<Sides, 'shadow' | 'rehearsal' | 'tokenSecret'>,
  req: RunRequest,
  progress: (line: string) => void,
): Promise<RunOutcome> {
  const open = await getRehearsal(shadow.db.sql, req.id);
  if (!open || open.closedAt || open.closesAt.getTime() <= Date.now()) {
    throw new Error(`rehearsal ${req.id} is not open (plan it first)`);
  }
  const targets = await shadowTargets(shadow.db.sql);
  if (targets.customers.length === 0 || targets.goods.length === 0) {
    throw new Error(`rehearsal ${req.id} has no shadow customers or goods (plan it first)`);
  }
  if (!(await startRun(shadow.db.sql, req.id, req.profile))) {
    throw new Error(`rehearsal ${req.id} has run already; plan a new one for another run`);
  }
  // the statistics views get a connection of their own: a reading must not queue behind the load
  const statsSql = rehearsal.databaseUrl ? connectPostgres(rehearsal.databaseUrl, 1) : undefined;
  let outcome: RunOutcome;
  try {
    const sampler = new SignalSampler(shadow, statsSql);
    await sampler.sample(); // a first reading, so the first second has rates
    outcome = await runLoad(
      { apiUrl: req.apiUrl, rehearsalId: req.id, rehearsalKey: rehearsal.key, tokenSecret, ...targets },
      req.phases,
      req.rails,
      () => sampler.sample(),
      async (s) => {
        await recordSample(shadow.db.sql, req.id, s);
        progress(progressLine(s));
      },
    );
  } finally {
    await statsSql?.end({ timeout: 5 });
  }
  await finishRun(shadow.db.sql, req.id, outcome.stopReason);
  if (outcome.stopReason) progress(`stopped early: ${outcome.stopReason}`);
  return outcome;
}

export async function writeRunReport(
  id: string,
  file: string,
): Promise<{ file: string; summary: RunSummary }> {
  return withSides(({ shadow }) => reportOnShadow(shadow.db.sql, id, file));
}

export async function reportOnShadow(
  shadowSql: Queryable,
  id: string,
  file: string,
): Promise<{ file: string; summary: RunSummary }> {
  const run = await readRun(shadowSql, id);
  if (!run) throw new Error(`rehearsal ${id} has no run to report`);
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, renderReport(run), { mode: 0o640 });
  return { file: target, summary: summarize(run) };
}

export async function cleanWithSides(id: string) {
  return withSides(async ({ shadow, rehearsal }) => {
    if (!rehearsal.migrationDatabaseUrl)
      throw new Error('FENQI_SHADOW_MIGRATION_DATABASE_URL is needed to clean');
    const owner = connectPostgres(rehearsal.migrationDatabaseUrl, 1);
    try {
      return { rehearsal: id, ...(await cleanRehearsal(owner, shadow.queue, id)) };
    } finally {
      await owner.end({ timeout: 5 });
    }
  });
}
