/**
 * Admission control for queued (sale-mode) routes: accept only what we can keep.
 * - the order stream's backlog (pending + unacked for the settler) above its bound → 503;
 * - event-loop delay above its bound (this process is saturated) → 503;
 * - the queue unreachable → 503.
 * Each 503 carries Retry-After. The backlog is sampled in the background, not per request, so
 * admission costs nothing on the hot path.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Queue } from '../queue/queue.ts';
import { ORDER_SETTLER, ORDERS_STREAM } from '../queue/streams.ts';
import { unavailable } from './errors.ts';

export const DEFAULT_MAX_BACKLOG = 200_000;
export const DEFAULT_MAX_LOOP_DELAY_MS = 200;
export const BACKLOG_SAMPLE_MS = 250;
export const RETRY_AFTER_S = 1;

export interface AdmissionOptions {
  maxBacklog?: number;
  maxLoopDelayMs?: number;
}

export interface AdmissionState {
  backlog: number;
  queueUp: boolean;
  loopDelayMs: number;
}

export class Admission {
  private readonly loop: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  readonly state: AdmissionState = { backlog: 0, queueUp: true, loopDelayMs: 0 };
  private readonly maxBacklog: number;
  private readonly maxLoopDelayMs: number;

  constructor(
    private readonly queue: Queue,
    options: AdmissionOptions = {},
  ) {
    this.maxBacklog = options.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    this.maxLoopDelayMs = options.maxLoopDelayMs ?? DEFAULT_MAX_LOOP_DELAY_MS;
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    this.timer = setInterval(() => void this.sample(), BACKLOG_SAMPLE_MS);
    this.timer.unref();
    void this.sample();
  }

  private async sample(): Promise<void> {
    this.state.loopDelayMs = this.loop.percentile(99) / 1e6;
    this.loop.reset();
    try {
      this.state.backlog = await this.queue.pending(ORDERS_STREAM, ORDER_SETTLER);
      this.state.queueUp = true;
    } catch {
      this.state.queueUp = false;
    }
  }

  /** Throws a 503 ApiError when the request must not be accepted now. */
  check(): void {
    if (!this.state.queueUp) {
      throw unavailable(
        'QUEUE_UNAVAILABLE',
        'orders cannot be accepted right now; retry shortly',
        RETRY_AFTER_S,
      );
    }
    if (this.state.backlog >= this.maxBacklog) {
      throw unavailable('OVERLOADED', `order backlog is at its bound (${this.maxBacklog})`, RETRY_AFTER_S);
    }
    if (this.state.loopDelayMs > this.maxLoopDelayMs) {
      throw unavailable('OVERLOADED', 'server is saturated', RETRY_AFTER_S);
    }
  }

  /** A publish failed: stop admitting until the next sample proves the queue is back. */
  markQueueDown(): void {
    this.state.queueUp = false;
  }

  close(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }
}
