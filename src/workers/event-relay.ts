/**
 * The outbox relay: claims unrelayed events in bounded batches (FOR UPDATE SKIP LOCKED, so several
 * relays share the work), publishes each to FENQI_EVENTS with its event id as the message id, and
 * only after every publish was stored marks the batch relayed, in the same transaction. A crash
 * between publishing and the commit leaves the rows unrelayed; the next claim publishes them again
 * and JetStream drops the copies (EVENT_DUPLICATE_WINDOW_MS), so each event is in the stream once.
 */
import { encodeEvent } from '../events/message.ts';
import type { Platform } from '../platform.ts';
import { AWARE } from '../rehearsal/context.ts';
import { onWorkerSide } from '../rehearsal/worker-context.ts';
import { CustomerRouting } from '../store/customer-routing.ts';
import { claimUnrelayed, markRelayed, RELAY_BATCH_MAX } from '../store/outbox.ts';
import { inSpan, SPAN_NAMES, SpanKind } from '../telemetry/tracing.ts';
import type { Worker } from './worker.ts';

/** Events per claim. */
export const RELAY_BATCH_SIZE = 500;
/** An idle relay looks for new events this often. */
export const RELAY_IDLE_POLL_MS = 200;
/** After a failed batch the relay waits this long before claiming again. */
export const RELAY_ERROR_PAUSE_MS = 1_000;
export const RELAY_PUBLISH_TIMEOUT_MS = 10_000;

export interface RelayStats {
  batches: number;
  relayed: number;
  /** Publishes JetStream reported as duplicates (republished after a crash or a failed commit). */
  duplicates: number;
  failures: number;
}

export class EventRelay implements Worker {
  readonly name = 'event-relay';
  /**
   * On the shadow side it relays the shadow outbox to the shadow account's stream, each batch
   * tagged as the open rehearsal's (docs/rehearsal.md); with none open it waits.
   */
  readonly rehearsal = AWARE;
  readonly stats: RelayStats = { batches: 0, relayed: 0, duplicates: 0, failures: 0 };
  private stopping = false;
  private readonly running: Promise<void>;
  /** One per relay: it asks once whether the database is Citus, not on every pass. */
  private readonly routing: CustomerRouting;

  constructor(
    private readonly platform: Platform,
    private readonly batchSize = RELAY_BATCH_SIZE,
    autoStart = true,
  ) {
    if (batchSize < 1 || batchSize > RELAY_BATCH_MAX)
      throw new RangeError(`relay batch 1..${RELAY_BATCH_MAX}`);
    this.routing = new CustomerRouting(platform.db.sql);
    this.running = autoStart ? this.loop() : Promise.resolve();
  }

  /** Relays one batch; answers how many events it relayed (0: nothing was waiting). */
  relayOnce(): Promise<number> {
    return onWorkerSide(this.platform, 0, () => this.relayBatch());
  }

  private async relayBatch(): Promise<number> {
    const { queue, config } = this.platform;
    return this.platform.db.sql.begin(async (tx) => {
      const rows = await claimUnrelayed(tx, this.batchSize, this.routing);
      if (rows.length === 0) return 0;
      const attributes = { 'messaging.batch.message_count': rows.length };
      const results = await inSpan(SPAN_NAMES.relayPublish, { kind: SpanKind.PRODUCER, attributes }, () =>
        Promise.all(
          rows.map((row) => {
            const m = encodeEvent(config.queueMacKeys, row);
            return queue.publish(m.subject, m.data, { msgId: m.msgId, timeoutMs: RELAY_PUBLISH_TIMEOUT_MS });
          }),
        ),
      );
      await markRelayed(tx, rows);
      this.stats.batches++;
      this.stats.relayed += rows.length;
      this.stats.duplicates += results.filter((r) => r.duplicate).length;
      return rows.length;
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let relayed = 0;
      try {
        relayed = await this.relayOnce();
      } catch (err) {
        this.stats.failures++;
        this.platform.logger.warn({ err: (err as Error).message }, 'event relay batch failed; will retry');
        await pause(RELAY_ERROR_PAUSE_MS);
        continue;
      }
      if (relayed === 0) await pause(RELAY_IDLE_POLL_MS);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startEventRelay(platform: Platform): Promise<Worker | undefined> {
  if (!platform.config.eventsEnabled) return undefined;
  return new EventRelay(platform);
}
