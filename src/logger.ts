/**
 * pino with redaction: secrets and personal fields never reach a log line, whatever object a
 * caller hands it. Personal fields are listed by name at any depth we log.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.ts';
import { mask, type PersonalField } from './privacy/masking.ts';

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
  'req.headers["x-fenqi-rehearsal"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `body.${f}`]),
];

/** Personal fields in a log line follow the masking table's `log` rule; secrets are redacted. */
export function logCensor(value: unknown, path: string[]): string {
  const field = path[path.length - 1] ?? '';
  const personal = PERSONAL_FIELD_OF[field];
  return personal && typeof value === 'string' ? mask(personal, value, 'log') : '[redacted]';
}

const PERSONAL_FIELD_OF: Record<string, PersonalField> = {
  phone: 'phone',
  national_id: 'national_id',
  nationalId: 'national_id',
  legal_name: 'legal_name',
  legalName: 'legal_name',
  bank_card: 'bank_card',
  bankCard: 'bank_card',
  card_number: 'bank_card',
};

export function createLogger(level: LogLevel, name = 'fenqi'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: logCensor } });
}

export type { Logger } from 'pino';
