/**
 * One error shape for every failure: { error: { code, message, details } }.
 * `code` is stable and machine-readable (clients switch on it); `message` is for people; the status
 * is the code's, from the one table in error-codes.ts.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CacheOverloadedError } from '../cache/cache-aside.ts';
import { DomainError } from '../domain/errors.ts';
import { QueueUnavailableError } from '../queue/queue.ts';
import { isTransientDatabaseError, isUnknownStaff } from '../store/db-errors.ts';
import { MicroBatchOverloadedError } from '../store/micro-batch.ts';
import { Refusal } from '../store/refusal.ts';
import { type ErrorCode, statusOf } from './error-codes.ts';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The one way to refuse a request: its status is the code's (error-codes.ts). */
export const refuse = (
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => new ApiError(statusOf(code), code, message, details, headers);

/**
 * A value the route parses out of the URL itself (a query date, say) is part of the request's
 * shape, like what the schema checks: 400, whatever the rule's code says for a body field.
 */
export const badQuery = (code: ErrorCode, message: string) => new ApiError(400, code, message);

export const notFound = (what: string, details: Record<string, unknown> = {}) =>
  refuse('NOT_FOUND', `${what} not found`, details);
export const forbidden = (message = 'not allowed') => refuse('FORBIDDEN', message);
export const unauthorized = (message = 'authentication required') => refuse('UNAUTHORIZED', message);
/** Kept for the order intake routes until they move to the orders module; new code uses refuse(). */
export const conflict = (code: ErrorCode, message: string, details: Record<string, unknown> = {}) =>
  refuse(code, message, details);
/** With Retry-After: the caller may try again after retryAfterS. */
export const unavailable = (code: ErrorCode, message: string, retryAfterS: number) =>
  refuse(code, message, { retry_after_s: retryAfterS }, { 'retry-after': String(retryAfterS) });
/** A business refusal or domain error as the API's error (its code's status); else undefined. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof Refusal || err instanceof DomainError)
    return refuse(err.code, err.message, { ...err.details });
  return undefined;
}

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

function body(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

/** Fastify's own error codes mapped to ours, so a client never sees a framework detail. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'send application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'MALFORMED_JSON',
    message: 'body is empty but declared JSON',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_CONTENT_LENGTH',
    message: 'content-length does not match the body',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', message: 'body is not valid JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'MALFORMED_URL', message: 'the URL is not validly percent-encoded' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URL_TOO_LONG', message: 'a path segment is too long' },
};

/** Retry-After for a 503 from a dependency outage that no route handled itself. */
export const OUTAGE_RETRY_AFTER_S = 1;

function outageOf(error: Error): { code: string; message: string } | undefined {
  if (error instanceof QueueUnavailableError)
    return { code: 'QUEUE_UNAVAILABLE', message: 'the queue cannot be reached right now; retry shortly' };
  if (error instanceof CacheOverloadedError || error instanceof MicroBatchOverloadedError)
    return { code: 'OVERLOADED', message: 'the database is shielded right now; retry shortly' };
  if (isTransientDatabaseError(error))
    return { code: 'DATABASE_UNAVAILABLE', message: 'the database cannot answer right now; retry shortly' };
  return undefined;
}

export function errorHandler(
  error: FastifyError | ApiError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof ApiError) {
    reply.headers(error.headers);
    return reply.status(error.statusCode).send(body(error.code, error.message, error.details));
  }
  // A money rule or a business state said no (APR over its cap, no credit line...): the rule's
  // own stable code, with that code's status.
  const refused = toApiError(error);
  if (refused)
    return reply.status(refused.statusCode).send(body(refused.code, refused.message, refused.details));
  // A signed staff token whose account is gone: its action's audit row names no one.
  if (isUnknownStaff(error))
    return reply.status(401).send(body('UNAUTHORIZED', 'the staff account of this token does not exist'));
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return reply.status(400).send(
      body(
        'VALIDATION_FAILED',
        `invalid ${fastifyError.validationContext ?? 'request'}: ${fastifyError.message}`,
        {
          problems: fastifyError.validation.map((v) => ({
            path: v.instancePath || '/',
            message: v.message ?? 'invalid',
          })),
        },
      ),
    );
  }
  const known = fastifyError.code ? FRAMEWORK_ERRORS[fastifyError.code] : undefined;
  if (known) return reply.status(known.status).send(body(known.code, known.message));
  if (error instanceof SyntaxError)
    return reply.status(400).send(body('MALFORMED_JSON', 'body is not valid JSON'));
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    return reply.status(status).send(body('BAD_REQUEST', error.message));
  }
  // A part that cannot answer right now is the caller's cue to retry, not an internal error.
  const outage = outageOf(error);
  if (outage) {
    request.log.warn({ err: error.message, code: outage.code }, 'dependency unavailable');
    reply.header('retry-after', String(OUTAGE_RETRY_AFTER_S));
    return reply.status(503).send(body(outage.code, outage.message, { retry_after_s: OUTAGE_RETRY_AFTER_S }));
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.status(500).send(body('INTERNAL', 'internal error; it has been logged with this request id'));
}

/**
 * Errors the router raises before a route is chosen (a bad percent-encoding, an over-long path
 * segment): Fastify would answer them in its own shape and skip the onRequest hooks, so they get
 * the request id and the one error shape here.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id);
  return errorHandler(error, request, reply);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(404)
    .send(body('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
