/**
 * What every background worker is, apart from the list of them (index.ts), so a worker can name its
 * own type without importing the module that imports it.
 */
import type { Platform } from '../platform.ts';

export interface Worker {
  name: string;
  /** Declares the worker rehearsal-aware (rehearsal/admit.ts): without it, tagged messages are refused. */
  readonly rehearsal?: 'aware';
  stop(): Promise<void>;
}

export type WorkerFactory = (platform: Platform) => Promise<Worker | undefined>;
