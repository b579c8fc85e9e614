/**
 * The API's gate for rehearsal traffic. An untagged request passes untouched to the production
 * routes. A tagged one is verified (MAC, expiry, an open rehearsal, a nonce not seen before) and
 * its route must have declared itself rehearsal-aware (`config: { rehearsal: 'aware' }`); only then
 * is it handed, inside its rehearsal context, to the same routes built on the shadow side. Every
 * other outcome is a refusal: tagged traffic never falls through to production.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { refuse, unavailable } from '../api/errors.ts';
import type { Api } from '../api/types.ts';
import type { Cache } from '../cache/cache.ts';
import type { Sql } from '../store/db.ts';
import { markRehearsalSpan } from '../telemetry/tracing.ts';
import { AWARE, runAsRehearsal } from './context.ts';
import { REHEARSAL_TAG_HEADER, type RehearsalTag, verifyTag } from './tag.ts';

/** How long the gate trusts its last look at which rehearsals are open. */
export const OPEN_REHEARSALS_MEMO_MS = 1_000;
export { AWARE };

export interface RehearsalRouteConfig {
  rehearsal?: typeof AWARE;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Declares the route rehearsal-aware: without it, tagged requests are refused. */
    rehearsal?: typeof AWARE;
  }
}

export interface RehearsalGateParts {
  key: Buffer;
  /** The shadow side's database (the open rehearsals live in its schema). */
  shadowSql: Sql;
  /** The shadow side's cache: nonces are claimed there, never in production keys. */
  shadowCache: Cache;
  /** The routes built on the shadow side. */
  shadowApi: Api;
  now?: () => number;
}

export function isRehearsalAware(request: FastifyRequest): boolean {
  return (request.routeOptions.config as RehearsalRouteConfig | undefined)?.rehearsal === AWARE;
}

/** Which rehearsals are open now, read at most once a memo period. */
function openRehearsals(sql: Sql, now: () => number): (id: string) => Promise<boolean> {
  let memo: { atMs: number; ids: Set<string> } | undefined;
  return async (id) => {
    if (!memo || now() - memo.atMs > OPEN_REHEARSALS_MEMO_MS) {
      const rows = await sql<{ id: string }[]>`
        select id from rehearsals where closed_at is null and closes_at > ${new Date(now())}`;
      memo = { atMs: now(), ids: new Set(rows.map((r) => r.id)) };
    }
    return memo.ids.has(id);
  };
}

/** Retry-After when the shadow cache cannot say whether a nonce was seen. */
const NONCE_RETRY_AFTER_S = 1;

/**
 * The nonce is kept until the tag expires: a replay within its life is refused. When the shadow
 * cache cannot answer, the tag is refused too (fail closed), as a 503 the load generator retries.
 */
async function claimNonce(cache: Cache, tag: RehearsalTag, nowMs: number): Promise<boolean> {
  const ttlMs = Math.max(1, tag.expiresAtMs - nowMs);
  try {
    return await cache.setIfAbsent(`rehearsal:nonce:${tag.rehearsalId}:${tag.nonce}`, '1', ttlMs);
  } catch {
    throw unavailable(
      'REHEARSAL_UNAVAILABLE',
      'the rehearsal tag cannot be checked right now',
      NONCE_RETRY_AFTER_S,
    );
  }
}

/** Verifies a tag header; throws the refusal, or answers the verified tag. */
export async function checkTagged(
  parts: RehearsalGateParts,
  header: string,
  isOpen: (id: string) => Promise<boolean>,
): Promise<RehearsalTag> {
  const now = parts.now ?? Date.now;
  const check = verifyTag(parts.key, header, now());
  if (!check.ok) throw refuse(check.code, 'the rehearsal tag is refused');
  if (!(await isOpen(check.tag.rehearsalId))) {
    throw refuse('REHEARSAL_NOT_OPEN', 'no rehearsal with this id is open');
  }
  if (!(await claimNonce(parts.shadowCache, check.tag, now()))) {
    throw refuse('REHEARSAL_TAG_REPLAYED', 'this rehearsal tag was already used');
  }
  return check.tag;
}

/**
 * Registers the gate first among the hooks, so no production hook (authentication included) sees a
 * tagged request. Without `parts` every tagged request is refused with REHEARSAL_NOT_OPEN.
 */
export function registerRehearsalGate(app: Api, parts: RehearsalGateParts | undefined): void {
  const isOpen = parts ? openRehearsals(parts.shadowSql, parts.now ?? Date.now) : undefined;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers[REHEARSAL_TAG_HEADER];
    if (header === undefined) return;
    if (!parts || !isOpen) throw refuse('REHEARSAL_NOT_OPEN', 'this deployment takes no rehearsal traffic');
    if (typeof header !== 'string') throw refuse('REHEARSAL_TAG_INVALID', 'one rehearsal tag is expected');
    const tag = await checkTagged(parts, header, isOpen);
    markRehearsalSpan(tag.rehearsalId);
    if (!isRehearsalAware(request)) {
      throw refuse('REHEARSAL_NOT_AWARE', 'this route does not take rehearsal traffic');
    }
    reply.hijack();
    const context = { tag, header };
    runAsRehearsal(context, () => parts.shadowApi.routing(request.raw, reply.raw));
    return reply;
  });
}

/** The shadow API's own check: a request reaching it untagged or on an unaware route is refused. */
export function registerShadowGuard(app: Api): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!isRehearsalAware(request)) {
      throw refuse('REHEARSAL_NOT_AWARE', 'this route does not take rehearsal traffic');
    }
  });
}
