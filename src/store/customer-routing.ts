/**
 * Which customers' rows live together, so that statements batched over several customers (the
 * decision path's micro-batches, src/store/micro-batch.ts) can be grouped and each still run on
 * one node. On Citus a customer's key is the id of the shard that holds the customer (and every
 * co-located table's rows of that customer); Citus answers it from its metadata on the
 * coordinator, without reading a shard. On one PostgreSQL (or PGlite) every customer has the same
 * key and asks nothing. Callers only compare keys: none learns how many shards there are, and a
 * key gone stale (a shard split) makes a statement touch two shards, never a wrong answer.
 */
import type { Queryable } from './db.ts';

/** The key of every customer where all customers live on one database. */
export const ONE_DATABASE_KEY = 'one-database';

/** Customers whose keys are asked in one statement at most. */
export const ROUTING_BATCH_MAX = 1000;

export class CustomerRouting {
  private citus?: Promise<boolean>;

  constructor(private readonly sql: Queryable) {}

  /** Each customer id's routing key (the same key: the same node, one statement may hold both). */
  async keysOf(customerIds: readonly bigint[]): Promise<Map<bigint, string>> {
    if (!(await this.onCitus())) return new Map(customerIds.map((id) => [id, ONE_DATABASE_KEY]));
    const keys = new Map<bigint, string>();
    const ids = [...new Set(customerIds)];
    for (let at = 0; at < ids.length; at += ROUTING_BATCH_MAX) {
      const chunk = ids.slice(at, at + ROUTING_BATCH_MAX).map(String);
      const rows = await this.sql<{ id: bigint; shard: string }[]>`
        select x as id, get_shard_id_for_distribution_column('customers', x)::text as shard
        from unnest(${chunk}::bigint[]) as x`;
      for (const r of rows) keys.set(BigInt(r.id), `shard:${r.shard}`);
    }
    return keys;
  }

  private onCitus(): Promise<boolean> {
    this.citus ??= this.sql<{ present: boolean }[]>`
      select exists (select 1 from pg_extension where extname = 'citus') as present`.then(
      (rows) => rows[0]!.present,
    );
    // a failed probe is asked again next time rather than remembered
    this.citus.catch(() => {
      this.citus = undefined;
    });
    return this.citus;
  }
}

/**
 * Customers in the fixed order every batch locks them in: by routing key, then by id. A customer
 * without a key is a group of its own, so a caller that knows nothing of routing still writes one
 * customer per statement (single-shard on a sharded database).
 */
export function routingGroups(
  customerIds: readonly bigint[],
  keyOf: ReadonlyMap<bigint, string> = new Map(),
): bigint[][] {
  const byKey = new Map<string, bigint[]>();
  for (const id of new Set(customerIds)) {
    const key = keyOf.get(id);
    const group = key === undefined ? `~${id}` : `=${key}`;
    byKey.set(group, [...(byKey.get(group) ?? []), id]);
  }
  const sortedKeys = [...byKey.keys()].sort();
  return sortedKeys.map((k) => byKey.get(k)!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}
