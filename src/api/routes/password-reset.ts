/**
 * Forgot-password (issue 17): POST /v1/auth/password-reset asks for a code by SMS, POST
 * /v1/auth/password-reset/confirm sets a new password with it (auth/password-reset.ts has the
 * rules). Asking answers 202 whether or not the phone has an account; a code that does not work is
 * 422 INVALID_CODE whatever the reason; too many of either is 429 TOO_MANY_ATTEMPTS with Retry-After.
 * Logged with a keyed digest of the phone and the client address, never the phone or the code.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Admission, LoginIdentifier } from '../../auth/throttle.ts';
import { RESET_CODE_DIGITS, RESET_CODE_TTL_MS } from '../../domain/password-reset.ts';
import type { Platform } from '../../platform.ts';
import { parsePhone } from '../../store/customers.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../store/passwords.ts';
import { refuse } from '../errors.ts';
import { ErrorBody } from './lending-schemas.ts';

/** Raw text bounds before parsing (as on log-in and registration). */
const PHONE_TEXT_MAX = 32;
const CODE_TEXT_MAX = 16;

const RequestBody = Type.Object(
  { phone: Type.String({ minLength: 1, maxLength: PHONE_TEXT_MAX }) },
  { additionalProperties: false },
);
const ConfirmBody = Type.Object(
  {
    phone: Type.String({ minLength: 1, maxLength: PHONE_TEXT_MAX }),
    code: Type.String({ minLength: 1, maxLength: CODE_TEXT_MAX }),
    new_password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
  },
  { additionalProperties: false },
);

const RequestAnswer = Type.Object({
  status: Type.Literal('code_sent_if_registered'),
  code_digits: Type.Integer(),
  expires_in_s: Type.Integer(),
});
const ConfirmAnswer = Type.Object({ status: Type.Literal('password_changed') });
const REFUSALS = { 400: ErrorBody, 422: ErrorBody, 429: ErrorBody };

const tooMany = (refused: Admission & { allowed: false }) =>
  refuse(
    'TOO_MANY_ATTEMPTS',
    'too many attempts; try again later',
    {},
    {
      'retry-after': String(refused.retryAfterS),
    },
  );

export function passwordResetRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { logger } = platform;
  const { authThrottle, passwordResets } = platform.services;
  const phoneOf = (raw: string): { phone: string; identifier: LoginIdentifier } => {
    const phone = parsePhone(raw);
    if (!phone) throw refuse('INVALID_PHONE', 'phone must be a mainland China mobile number');
    return { phone, identifier: `phone:${phone}` };
  };

  return async (app) => {
    app.post(
      '/v1/auth/password-reset',
      {
        schema: {
          tags: ['auth'],
          summary: 'Forgot password: send a one-time code by SMS (the same answer for every phone)',
          body: RequestBody,
          response: { 202: RequestAnswer, ...REFUSALS },
        },
      },
      async (request, reply) => {
        const { phone, identifier } = phoneOf(request.body.phone);
        const seen = { reset: authThrottle.logDigest(identifier), address: request.ip };
        const admission = await authThrottle.admitResetRequest(identifier, request.ip);
        if (!admission.allowed) {
          logger.info({ ...seen, limit: admission.limit }, 'password reset request refused');
          throw tooMany(admission);
        }
        passwordResets.requestCode(phone);
        logger.info(seen, 'password reset code asked for');
        return reply.status(202).send({
          status: 'code_sent_if_registered' as const,
          code_digits: RESET_CODE_DIGITS,
          expires_in_s: RESET_CODE_TTL_MS / 1000,
        });
      },
    );

    app.post(
      '/v1/auth/password-reset/confirm',
      {
        schema: {
          tags: ['auth'],
          summary: 'Forgot password: set a new password with the code; every earlier session ends',
          body: ConfirmBody,
          response: { 200: ConfirmAnswer, ...REFUSALS },
        },
      },
      async (request) => {
        const { phone, identifier } = phoneOf(request.body.phone);
        const seen = { reset: authThrottle.logDigest(identifier), address: request.ip };
        const admission = await authThrottle.admitResetConfirm(identifier, request.ip);
        if (!admission.allowed) {
          logger.info({ ...seen, limit: admission.limit }, 'password reset code try refused');
          throw tooMany(admission);
        }
        if (!(await passwordResets.confirm(phone, request.body.code, request.body.new_password))) {
          logger.info(seen, 'password reset code did not work');
          throw refuse('INVALID_CODE', 'the code is wrong, expired or used; ask for a new one');
        }
        logger.info(seen, 'password reset');
        return { status: 'password_changed' as const };
      },
    );
  };
}
