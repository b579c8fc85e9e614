/**
 * The context of a shadow worker's own passes. The order settler and the notifier's intake take
 * their rehearsal from each message's tag (admit.ts); the event relay, the notifier's sending, close
 * of business and automatic debit start from no message, so on the shadow side each pass runs as
 * the open rehearsal's work: a tag minted with the shadow side's key for the most recently opened
 * rehearsal still open. With none open the pass does not run at all: shadow workers work only
 * while a rehearsal is open. On the production side a pass runs as it always did, untagged.
 */
import type { Sql } from '../store/db.ts';
import { latestOpenRehearsal } from '../store/rehearsals.ts';
import type { WorkerSide } from './admit.ts';
import { type RehearsalContext, runAsRehearsal } from './context.ts';
import { mintTag, verifyTagSignature } from './tag.ts';

/** A pass's tag lives this long: what it publishes is checked by MAC only downstream (admit.ts). */
export const WORKER_TAG_LIFETIME_MS = 60_000;

/** The open rehearsal's context for a shadow worker's pass, or undefined when none is open. */
export async function openRehearsalContext(
  sql: Sql,
  rehearsalKey: Buffer,
  nowMs = Date.now(),
): Promise<RehearsalContext | undefined> {
  const id = await latestOpenRehearsal(sql, new Date(nowMs));
  if (!id) return undefined;
  const header = mintTag(rehearsalKey, id, nowMs, WORKER_TAG_LIFETIME_MS);
  const tag = verifyTagSignature(rehearsalKey, header);
  if (!tag) throw new Error('a tag minted with the shadow key does not verify with it');
  return { tag, header };
}

/**
 * Runs one pass of a worker on its side: production, untagged; shadow, in the open rehearsal's
 * context, or not at all (answers `idle`) when no rehearsal is open.
 */
export async function onWorkerSide<T>(
  platform: { side: WorkerSide; db: { sql: Sql } },
  idle: T,
  pass: () => Promise<T>,
): Promise<T> {
  const { side } = platform;
  if (side.kind === 'production') return pass();
  const context = await openRehearsalContext(platform.db.sql, side.rehearsalKey);
  return context ? runAsRehearsal(context, pass) : idle;
}
