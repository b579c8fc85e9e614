import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Gauge } from 'prom-client';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { type ClusterNode, clusterNodes } from '../../store/citus-cluster.ts';
import { withTimeout } from '../../timeout.ts';
import type { Metrics } from '../metrics.ts';

/** A part that does not answer within this is reported down: /ready must answer in about a second. */
export const READY_CHECK_TIMEOUT_MS = 1_000;

const PartState = Type.Object({
  up: Type.Boolean(),
  kind: Type.String(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
});

const ClusterNodeState = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  role: Type.Union([Type.Literal('coordinator'), Type.Literal('worker')]),
  active: Type.Boolean(),
  should_have_shards: Type.Boolean(),
  shards: Type.Integer(),
});

const ReadyBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  parts: Type.Object({ database: PartState, cache: PartState, queue: PartState }),
  /** On a Citus coordinator: its nodes and the shard placements each holds. */
  cluster: Type.Optional(Type.Object({ nodes: Type.Array(ClusterNodeState) })),
});

/** The Citus nodes, or null (not Citus, embedded, or no answer in time: readiness never waits on it). */
async function readCluster(platform: Platform): Promise<ClusterNode[] | null> {
  if (platform.db.embedded) return null;
  try {
    return await withTimeout(
      clusterNodes(platform.db.sql),
      READY_CHECK_TIMEOUT_MS,
      () => new Error('timeout'),
    );
  } catch {
    return null;
  }
}

/** fenqi_citus_node_shards{node,role}: shard placements per node, read when scraped. */
function clusterGauge(platform: Platform, metrics: Metrics): void {
  new Gauge({
    name: 'fenqi_citus_node_shards',
    help: 'Shard placements per Citus node (absent when the database is not Citus)',
    labelNames: ['node', 'role', 'active'],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      for (const n of (await readCluster(platform)) ?? []) {
        this.set({ node: `${n.host}:${n.port}`, role: n.role, active: String(n.active) }, n.shards);
      }
    },
  });
}

async function check(kind: string, probe: () => Promise<unknown>) {
  const startedMs = performance.now();
  try {
    await withTimeout(
      probe(),
      READY_CHECK_TIMEOUT_MS,
      () => new Error(`no answer in ${READY_CHECK_TIMEOUT_MS} ms`),
    );
    return { up: true, kind, latency_ms: Math.round(performance.now() - startedMs) };
  } catch (err) {
    return {
      up: false,
      kind,
      latency_ms: Math.round(performance.now() - startedMs),
      error: (err as Error).message,
    };
  }
}

export function healthRoutes(platform: Platform, metrics: Metrics): FastifyPluginAsyncTypebox {
  clusterGauge(platform, metrics);
  return async (app) => {
    app.get(
      '/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Liveness: the process answers',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/ready',
      {
        schema: {
          tags: ['health'],
          summary: 'Readiness: database, cache and queue each answer',
          response: { 200: ReadyBody, 503: ReadyBody },
        },
      },
      async (_request, reply) => {
        const [database, cache, queue, nodes] = await Promise.all([
          check(platform.db.embedded ? 'pglite' : 'postgresql', () => platform.db.sql`select 1`),
          check(platform.cache.kind, () => platform.cache.ping()),
          check(platform.queue.kind, () => platform.queue.ping()),
          readCluster(platform),
        ]);
        const parts = { database, cache, queue };
        for (const [name, state] of Object.entries(parts)) if (!state.up) metrics.partUp.inc({ part: name });
        const ready = database.up && cache.up && queue.up;
        const cluster = nodes && {
          nodes: nodes.map((n) => ({
            host: n.host,
            port: n.port,
            role: n.role,
            active: n.active,
            should_have_shards: n.shouldHaveShards,
            shards: n.shards,
          })),
        };
        return reply
          .status(ready ? 200 : 503)
          .send({ status: ready ? 'ready' : 'not_ready', parts, ...(cluster ? { cluster } : {}) });
      },
    );

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
}
