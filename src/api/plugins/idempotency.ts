/**
 * Idempotency for money-moving routes. The route hands over its effect; this runs it in one
 * transaction with the key row (inserted first, so a concurrent request with the same key waits
 * for it and then replays its answer), stores the answer, and replays it on a retry with the
 * header `idempotent-replay: true`. The same key with a different request is a 409. Business
 * refusals are answers too: a retry of a refused request is refused the same way.
 *
 * An effect may end "deferred" (a disbursement sent outside the transaction): the key then holds
 * what to resume, and a retry resumes it instead of repeating the effect.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../../domain/index.ts';
import type { Sql, TransactionSql } from '../../store/db.ts';
import {
  claimKey,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENCY_KEY_PATTERN,
  requestHash,
  saveAnswer,
  scopeCustomerId,
} from '../../store/idempotency.ts';
import { REFUSAL_STATUS, Refusal } from '../../store/refusal.ts';
import { ApiError, conflict, unauthorized } from '../errors.ts';

export const REPLAY_HEADER = 'idempotent-replay';

/** For route schemas (documentation); the check itself is here, with its own stable codes. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: `required: 1..${IDEMPOTENCY_KEY_MAX_LENGTH} of A-Z a-z 0-9 _ . : -` }),
  ),
});

export interface Answer {
  statusCode: number;
  body: unknown;
}

export interface Deferred<D> {
  deferred: D;
}

/** A business refusal or domain error as the API's error. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof Refusal)
    return new ApiError(REFUSAL_STATUS[err.code], err.code, err.message, err.details);
  if (err instanceof DomainError) return new ApiError(422, err.code, err.message, { ...err.details });
  return undefined;
}

function errorAnswer(err: ApiError): Answer {
  return {
    statusCode: err.statusCode,
    body: { error: { code: err.code, message: err.message, details: err.details } },
  };
}

export function idempotencyKeyOf(request: FastifyRequest): string {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined || raw === '') {
    throw new ApiError(
      400,
      'IDEMPOTENCY_KEY_REQUIRED',
      'this request moves money: send an Idempotency-Key header',
    );
  }
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(raw)) {
    throw new ApiError(
      400,
      'IDEMPOTENCY_KEY_INVALID',
      `Idempotency-Key must be 1..${IDEMPOTENCY_KEY_MAX_LENGTH} characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  return raw;
}

export interface IdempotentRoute<D> {
  effect: (tx: TransactionSql, key: string) => Promise<Answer | Deferred<D>>;
  /** Completes a deferred effect; `resumed` is true on a retry. Non-final answers are not stored. */
  finish?: (deferred: D, resumed: boolean) => Promise<Answer & { final: boolean }>;
}

export async function idempotent<D>(
  sql: Sql,
  request: FastifyRequest,
  reply: FastifyReply,
  route: IdempotentRoute<D>,
): Promise<FastifyReply> {
  const principal = request.principal;
  if (!principal) throw unauthorized();
  const key = idempotencyKeyOf(request);
  const scope = `${principal.role}:${principal.id}`;
  const hash = requestHash(request.method, request.url, request.body);

  type Step = { answer: Answer; replay: boolean } | { deferred: D; replay: boolean };
  const step = await sql.begin(async (tx): Promise<Step> => {
    const claim = await claimKey(tx, scope, key, hash);
    if (claim.kind === 'mismatch') {
      throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    }
    if (claim.kind === 'replay')
      return { answer: { statusCode: claim.statusCode, body: claim.response }, replay: true };
    if (claim.kind === 'pending') return { deferred: claim.response as D, replay: true };
    try {
      const outcome = await tx.savepoint((sp) => route.effect(sp, key));
      if ('deferred' in outcome) {
        await saveAnswer(tx, scope, key, null, outcome.deferred);
        return { deferred: outcome.deferred, replay: false };
      }
      await saveAnswer(tx, scope, key, outcome.statusCode, outcome.body);
      return { answer: outcome, replay: false };
    } catch (err) {
      const apiError = toApiError(err);
      if (!apiError || apiError.statusCode >= 500) throw err;
      const answer = errorAnswer(apiError);
      await saveAnswer(tx, scope, key, answer.statusCode, answer.body);
      return { answer, replay: false };
    }
  });

  let answer: Answer;
  if ('deferred' in step) {
    if (!route.finish) throw new Error('a deferred effect needs a finish step');
    const finished = await route.finish(step.deferred, step.replay);
    if (finished.final) {
      await sql.begin(async (tx) => {
        await tx`
          update idempotency_keys set status_code = ${finished.statusCode},
            response = ${tx.json(finished.body as never)}
          where customer_id = ${scopeCustomerId(scope).toString()}::bigint and scope = ${scope} and key = ${key}
            and status_code is null`;
      });
    }
    answer = finished;
  } else {
    answer = step.answer;
  }
  if (step.replay) reply.header(REPLAY_HEADER, 'true');
  return reply.status(answer.statusCode).send(answer.body);
}
