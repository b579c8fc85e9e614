/**
 * The platform's keys for processes started by a test. Real mode refuses to start without them
 * (src/config.ts), and every process on one database must hold the same ones, so a test server
 * makes one set and hands it out with its URLs (PostgresServer.env).
 */
import { randomBytes } from 'node:crypto';
import { KEY_VARIABLES } from '../../src/config.ts';

export const hexKey = () => randomBytes(32).toString('hex');

export type PlatformKeysEnv = Record<(typeof KEY_VARIABLES)[keyof typeof KEY_VARIABLES], string>;

/** A fresh, complete set of keys as environment variables. */
export function platformKeysEnv(): PlatformKeysEnv {
  return {
    [KEY_VARIABLES.tokenSecret]: hexKey(),
    [KEY_VARIABLES.dataKeys]: `1:${hexKey()}`,
    [KEY_VARIABLES.blindIndexKey]: hexKey(),
    [KEY_VARIABLES.queueMacKeys]: `1:${hexKey()}`,
  } as PlatformKeysEnv;
}
