/**
 * pino with redaction: secrets and personal fields never reach a log line, whatever object a
 * caller hands it. Personal fields are listed by name at any depth we log.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.ts';

const SECRET_FIELDS = [
  'password',
  'token',
  'access_token',
  'secret',
  'national_id',
  'nationalId',
  'phone',
  'legal_name',
  'legalName',
  'bank_card',
  'bankCard',
  'card_number',
  'api_key',
  'apiKey',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `body.${f}`]),
];

export function createLogger(level: LogLevel, name = 'fenqi'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type { Logger } from 'pino';
