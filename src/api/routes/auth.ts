/**
 * POST /v1/auth/login: customers by phone, staff by username, a short-lived bearer token back.
 * Unknown user and wrong password are one answer (401 INVALID_CREDENTIALS) and cost the same
 * argon2 work, so neither the body nor the timing says whether an account exists. Repeated
 * failures for one login are throttled through the cache.
 */
import { createHmac } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { findCustomerByPhone, parsePhone, updateCustomerPasswordHash } from '../../store/customers.ts';
import {
  burnPasswordCheck,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  passwordNeedsRehash,
  verifyPassword,
} from '../../store/passwords.ts';
import { findStaffByUsername, parseUsername, updateStaffPasswordHash } from '../../store/staff.ts';
import { type Principal, signAccessToken } from '../auth.ts';
import { refuse } from '../errors.ts';

/** Failed log-ins allowed for one phone or username within the window before 429. */
export const LOGIN_MAX_FAILURES = 10;
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;

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

export function authRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { config, db, cache } = platform;
  const { crypto } = platform.services;

  const failureKey = (login: string) =>
    `login-failures:${createHmac('sha256', config.blindIndexKey).update(login).digest('hex')}`;

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
        const login =
          'phone' in body
            ? `phone:${parsePhone(body.phone) ?? body.phone}`
            : `staff:${body.username.toLowerCase()}`;
        const key = failureKey(login);
        const failures = Number((await cache.get(key).catch(() => null)) ?? 0);
        if (failures >= LOGIN_MAX_FAILURES) {
          throw refuse(
            'TOO_MANY_ATTEMPTS',
            'too many failed log-ins; try again later',
            {},
            {
              'retry-after': String(LOGIN_FAILURE_WINDOW_MS / 1000),
            },
          );
        }
        const account = await findAccount(body);
        const ok = account
          ? await verifyPassword(account.passwordHash, body.password)
          : await burnPasswordCheck(body.password).then(() => false);
        if (!account || !ok || !account.active) {
          await cache.incr(key, LOGIN_FAILURE_WINDOW_MS).catch(() => 0);
          throw invalidCredentials();
        }
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
