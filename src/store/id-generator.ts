/**
 * Ids made in process, with fenqi_next_id()'s bit layout (41 bits of ms since 2025-01-01, 10 bits
 * of shard, 12 bits of sequence). Each process claims a shard from the database once, so the API
 * can name an order before it is stored (the 202 carries it) and a worker can name a whole batch
 * of rows without a round trip. The database's own generator uses shard 0, which we never claim.
 */
import { invariant } from '../domain/index.ts';
import type { Sql } from './db.ts';

export const ID_EPOCH_MS = 1_735_689_600_000;
export const ID_SHARDS = 1024;
export const ID_SEQUENCE_SIZE = 4096;

export class IdGenerator {
  private lastMs = 0;
  private seq = 0;

  constructor(
    readonly shard: number,
    private readonly now: () => number = Date.now,
  ) {
    invariant(shard >= 1 && shard < ID_SHARDS, 'an in-process id shard is 1..1023');
  }

  next(): bigint {
    const nowMs = this.now() - ID_EPOCH_MS;
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.seq = 0;
    } else if (++this.seq >= ID_SEQUENCE_SIZE) {
      // 4096 ids in one millisecond (or a clock step back): borrow the next millisecond, so ids
      // stay unique and increasing whatever the clock does.
      this.lastMs++;
      this.seq = 0;
    }
    return (BigInt(this.lastMs) << 22n) | (BigInt(this.shard) << 12n) | BigInt(this.seq);
  }

  /** When an id was made (ms since the Unix epoch). */
  static timeOf(id: bigint): number {
    return Number(id >> 22n) + ID_EPOCH_MS;
  }
}

/** Claims a shard (1..1023, round robin over the starts of every process) and makes a generator. */
export async function claimIdGenerator(sql: Sql): Promise<IdGenerator> {
  const [row] = await sql<{ n: bigint }[]>`select nextval('fenqi_id_shard_seq') as n`;
  const shard = 1 + Number((row?.n ?? 0n) % BigInt(ID_SHARDS - 1));
  return new IdGenerator(shard);
}
