/**
 * The request context of rehearsal traffic: set once where a tag is verified (the API's gate, a
 * worker restoring a message's headers) and read by every part that must pick a side. Node's
 * AsyncLocalStorage carries it through awaits, timers and callbacks without threading a parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RehearsalTag } from './tag.ts';

export interface RehearsalContext {
  tag: RehearsalTag;
  /** The signed header text, forwarded as-is into message headers. */
  header: string;
}

const storage = new AsyncLocalStorage<RehearsalContext>();

/** What a route or a worker declares to take rehearsal traffic; without it, tagged work is refused. */
export const AWARE = 'aware';

export function currentRehearsal(): RehearsalContext | undefined {
  return storage.getStore();
}

export function runAsRehearsal<T>(context: RehearsalContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Work started from here on is production work again (a batch flush shared by both sides). */
export function runUntagged<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** Thrown when a production part is reached from tagged work, or a shadow part from untagged. */
export class RehearsalLeak extends Error {
  constructor(part: string, tagged: boolean) {
    super(tagged ? `rehearsal traffic reached production ${part}` : `untagged work reached shadow ${part}`);
    this.name = 'RehearsalLeak';
  }
}

/** The production side's guard: refuses before a query, command or publish leaves the process. */
export function assertProduction(part: string): void {
  if (storage.getStore()) throw new RehearsalLeak(part, true);
}

/** The shadow side's guard. */
export function assertShadow(part: string): void {
  if (!storage.getStore()) throw new RehearsalLeak(part, false);
}
