import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
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

const ReadyBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  parts: Type.Object({ database: PartState, cache: PartState, queue: PartState }),
});

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
        const [database, cache, queue] = await Promise.all([
          check(platform.db.embedded ? 'pglite' : 'postgresql', () => platform.db.sql`select 1`),
          check(platform.cache.kind, () => platform.cache.ping()),
          check(platform.queue.kind, () => platform.queue.ping()),
        ]);
        const parts = { database, cache, queue };
        for (const [name, state] of Object.entries(parts)) if (!state.up) metrics.partUp.inc({ part: name });
        const ready = database.up && cache.up && queue.up;
        return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', parts });
      },
    );

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
}
