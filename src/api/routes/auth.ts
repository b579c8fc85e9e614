/**
 * POST /v1/auth/login: customers by phone, staff by username, a short-lived bearer token back.
 * Unknown user and wrong password are one answer (401 INVALID_CREDENTIALS) and cost the same
 * argon2 work, so neither the body nor the timing says whether an account exists. The identifier
 * is normalised once and that one spelling is both counted and looked up; every attempt is counted
 * in PostgreSQL before the password is checked (auth/throttle.ts). Failures and refusals are
 * logged at info with a keyed digest of the identifier and the client address, never the identifier.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Admission, LoginIdentifier } from '../../auth/throttle.ts';
import type { Platform } from '../../platform.ts';
import { findCustomerByPhone, parsePhone, updateCustomerPasswordHash } from '../../store/customers.ts';
import {
  burnPasswordCheck,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  passwordNeedsRehash,
  verifyPassword,
} from '../../store/passwords.ts';
import {
  findStaffByUsername,
  normaliseUsername,
  parseUsername,
  updateStaffPasswordHash,
} from '../../store/staff.ts';
import { type Principal, signAccessToken } from '../auth.ts';
import { refuse } from '../errors.ts';

const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
const LoginBody = Type.Union([
  Type.Object(
    { phone: Type.String({ minLength: 1, maxLength: 32 }), password: Password },
    { additionalProperties: false },
  ),
  Type.Object(
    { username: Type.String({ minLength: 1, maxLength: 64 }), password: Password },
    { additionalProperties: false },
  ),
]);
const TokenBody = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  role: Type.Union([
    Type.Literal('customer'),
    Type.Literal('merchant'),
    Type.Literal('risk'),
    Type.Literal('ops'),
    Type.Literal('admin'),
    Type.Literal('collector'),
  ]),
});

const invalidCredentials = () =>
  refuse('INVALID_CREDENTIALS', 'phone or username and password do not match an account');

interface Account {
  principal: Principal;
  passwordHash: string;
  active: boolean;
  rehash(hash: string): Promise<void>;
}

/** The one spelling of who is logging in: what is counted is exactly what is looked up. */
function loginIdentifier(body: { phone: string } | { username: string }): LoginIdentifier {
  if ('phone' in body) return `phone:${parsePhone(body.phone) ?? body.phone.normalize('NFKC').trim()}`;
  return `staff:${normaliseUsername(body.username)}`;
}

const tooManyAttempts = (refused: Admission & { allowed: false }) =>
  refuse(
    'TOO_MANY_ATTEMPTS',
    'too many log-in attempts; try again later',
    {},
    { 'retry-after': String(refused.retryAfterS) },
  );

export function authRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { config, db, logger } = platform;
  const { crypto, authThrottle } = platform.services;

  const findAccount = async (
    body: { phone: string } | { username: string },
  ): Promise<Account | undefined> => {
    if ('phone' in body) {
      const phone = parsePhone(body.phone);
      const customer = phone ? await findCustomerByPhone(db.sql, crypto, phone) : undefined;
      return (
        customer && {
          principal: { role: 'customer', id: customer.id },
          passwordHash: customer.passwordHash,
          active: customer.status === 'active',
          rehash: (hash) => updateCustomerPasswordHash(db.sql, customer.id, hash),
        }
      );
    }
    const username = parseUsername(body.username);
    const staff = username ? await findStaffByUsername(db.sql, username) : undefined;
    return (
      staff && {
        principal: { role: staff.role, id: staff.id },
        passwordHash: staff.passwordHash,
        active: true,
        rehash: (hash) => updateStaffPasswordHash(db.sql, staff.id, hash),
      }
    );
  };

  return async (app) => {
    app.post(
      '/v1/auth/login',
      {
        schema: {
          tags: ['auth'],
          summary: 'Log in (customers by phone, staff by username) and get a bearer access token',
          body: LoginBody,
          response: { 200: TokenBody },
        },
      },
      async (request) => {
        const body = request.body;
        const identifier = loginIdentifier(body);
        const seen = { login: authThrottle.logDigest(identifier), address: request.ip };
        const admission = await authThrottle.admitLogin(identifier, request.ip);
        if (!admission.allowed) {
          logger.info(
            { ...seen, limit: admission.limit, retryAfterS: admission.retryAfterS },
            'log-in locked out',
          );
          throw tooManyAttempts(admission);
        }
        const account = await findAccount(body);
        const ok = account
          ? await verifyPassword(account.passwordHash, body.password)
          : await burnPasswordCheck(body.password).then(() => false);
        if (!account || !ok || !account.active) {
          logger.info(seen, 'log-in failed');
          throw invalidCredentials();
        }
        await authThrottle.loginSucceeded(identifier, request.ip);
        if (passwordNeedsRehash(account.passwordHash))
          await account.rehash(await hashPassword(body.password));
        return {
          access_token: signAccessToken(config.tokenSecret, account.principal, config.accessTokenTtlS),
          token_type: 'Bearer' as const,
          expires_in: config.accessTokenTtlS,
          role: account.principal.role,
        };
      },
    );
  };
}
