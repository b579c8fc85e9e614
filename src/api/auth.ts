/**
 * Who is calling. Customers and staff present a bearer access token (from /v1/auth/login);
 * merchants their API key (x-api-key). Routes declare the roles they admit with requireRole();
 * ownership (a customer sees only their own records) is checked by each route against
 * request.principal.id.
 *
 * Tokens are short-lived and signed with HMAC-SHA256 under FENQI_TOKEN_SECRET:
 *   base64url(JSON payload) "." base64url(HMAC(payload))
 * They carry no personal data: role, subject id, expiry, issue time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from './errors.ts';

export const ROLES = ['customer', 'merchant', 'risk', 'ops', 'admin', 'collector'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  role: Role;
  /** customers.id, merchants.id or staff.id, by role. */
  id: bigint;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

interface TokenPayload {
  r: Role;
  s: string;
  /** expiry, seconds since the epoch */
  e: number;
  /** issued at, milliseconds since the epoch (auth/revocations.ts compares it) */
  i?: number;
}

/** Token text is bounded before any parsing work is done on it. */
export const MAX_TOKEN_LENGTH = 512;

export function signAccessToken(
  secret: Buffer,
  principal: Principal,
  ttlS: number,
  nowMs = Date.now(),
): string {
  const payload: TokenPayload = {
    r: principal.role,
    s: principal.id.toString(),
    e: Math.floor(nowMs / 1000) + ttlS,
    i: nowMs,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${mac}`;
}

/** The principal a token names, or undefined when it is malformed, forged or expired. */
export function verifyAccessToken(secret: Buffer, token: string, nowMs = Date.now()): Principal | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return undefined;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    return undefined;
  }
  if (!ROLES.includes(payload.r) || !/^\d{1,19}$/.test(payload.s) || typeof payload.e !== 'number')
    return undefined;
  if (payload.e * 1000 <= nowMs) return undefined;
  return { role: payload.r, id: BigInt(payload.s) };
}

/** Verified tokens remembered per process at most (then the memo starts over). */
export const VERIFIED_TOKENS_MAX = 20_000;

/**
 * verifyAccessToken with a memo of the tokens it has already verified: a customer's token arrives
 * with every request of a session, and on sale day its HMAC and JSON decoding were a visible share
 * of the API's CPU. The memo is keyed by the whole token, so only the same bytes under the same
 * secret hit it; expiry is still checked on every use. Bounded by VERIFIED_TOKENS_MAX.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, Session>();

  constructor(private readonly secret: Buffer) {}

  verify(token: string, nowMs = Date.now()): Principal | undefined {
    return this.session(token, nowMs)?.principal;
  }

  /** The principal and when its token was issued (a password reset ends older ones). */
  session(token: string, nowMs = Date.now()): Session | undefined {
    const known = this.verified.get(token);
    if (known) return known.expiresAtMs > nowMs ? known : undefined;
    const principal = verifyAccessToken(this.secret, token, nowMs);
    if (!principal) return undefined;
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.clear();
    const session = { principal, ...tokenTimes(token) };
    this.verified.set(token, session);
    return session;
  }
}

export interface Session {
  principal: Principal;
  expiresAtMs: number;
  /** 0 for a token from before tokens carried it: older than any revocation. */
  issuedAtMs: number;
}

/** The expiry and issue time of a token verifyAccessToken has accepted (so its payload is well formed). */
function tokenTimes(token: string): { expiresAtMs: number; issuedAtMs: number } {
  const payload = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as TokenPayload;
  const issuedAtMs = typeof payload.i === 'number' && Number.isFinite(payload.i) ? payload.i : 0;
  return { expiresAtMs: payload.e * 1000, issuedAtMs };
}

/**
 * preHandler admitting only the given roles: 401 without a principal, 403 with the wrong one.
 * Callback style, not async: it runs on every authenticated request, and an async hook costs a
 * promise and a microtask turn each time.
 */
export function requireRole(...roles: Role[]) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    if (!request.principal) done(unauthorized());
    else if (!roles.includes(request.principal.role))
      done(forbidden(`this needs one of the roles: ${roles.join(', ')}`));
    else done();
  };
}
