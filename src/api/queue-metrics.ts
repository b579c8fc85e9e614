/**
 * Queue gauges for /metrics, read from the queue at scrape time: messages held per stream (the
 * dead-letter stream's count is what an operator alerts on: every message in it is an accepted
 * order waiting for a replay) and the settlement backlog. A scrape never waits on a sick queue
 * for longer than QUEUE_SCRAPE_TIMEOUT_MS; the gauges are then left out of that scrape.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Platform } from '../platform.ts';
import { DEAD_LETTER_STREAM, ORDER_SETTLER, ORDERS_STREAM } from '../queue/index.ts';
import { withTimeout } from '../timeout.ts';

export const QUEUE_SCRAPE_TIMEOUT_MS = 500;

/** The answer, or undefined when the queue fails or is slower than QUEUE_SCRAPE_TIMEOUT_MS. */
const bounded = <T>(work: Promise<T>): Promise<T | undefined> =>
  withTimeout(work, QUEUE_SCRAPE_TIMEOUT_MS, () => new Error('queue scrape timed out')).catch(
    () => undefined,
  );

export function registerQueueMetrics(registry: Registry, platform: Platform): void {
  new Gauge({
    name: 'fenqi_queue_stream_messages',
    help: 'Messages held per stream (FENQI_DEAD: dead-lettered orders waiting for a replay)',
    labelNames: ['stream'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const stream of [ORDERS_STREAM, DEAD_LETTER_STREAM]) {
        const state = await bounded(platform.queue.state(stream));
        if (state) this.set({ stream }, state.messages);
      }
    },
  });
  new Gauge({
    name: 'fenqi_queue_consumer_pending',
    help: 'Messages not yet acked by a consumer (the settlement backlog)',
    labelNames: ['stream', 'consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      const pending = await bounded(platform.queue.pending(ORDERS_STREAM, ORDER_SETTLER));
      if (pending !== undefined) this.set({ stream: ORDERS_STREAM, consumer: ORDER_SETTLER }, pending);
    },
  });
}
