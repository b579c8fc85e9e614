/**
 * What a process needs to take rehearsal traffic (docs/rehearsal.md). Without the key file the
 * process takes none: every tagged request is refused. The shadow credentials are separate from
 * the production ones, so the servers themselves keep each side to its own objects.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../config.ts';
import { MIN_REHEARSAL_KEY_BYTES } from './tag.ts';

export interface RehearsalConfig {
  key: Buffer;
  /** postgres:// of the shadow role (its search_path is the shadow schema). */
  databaseUrl: string | undefined;
  /** The owner's URL with search_path=fenqi_shadow, for migrating the shadow schema. */
  migrationDatabaseUrl: string | undefined;
  /** rediss:// of the shadow ACL user (SHADOW_CACHE_PREFIX keys only). */
  redisUrl: string | undefined;
  /** The NATS user of the shadow account (same subject names, separate account). */
  natsUser: string | undefined;
  natsPassword: string | undefined;
}

type Env = Record<string, string | undefined>;

function readKey(file: string): Buffer {
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new ConfigError('FENQI_REHEARSAL_KEY_FILE', 'must not be readable by group or others');
  }
  const text = readFileSync(file, 'utf8').trim();
  const key = /^[0-9a-f]+$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < MIN_REHEARSAL_KEY_BYTES) {
    throw new ConfigError('FENQI_REHEARSAL_KEY_FILE', `must hold at least ${MIN_REHEARSAL_KEY_BYTES} bytes`);
  }
  return key;
}

export function loadRehearsalConfig(env: Env = process.env): RehearsalConfig | undefined {
  const file = env.FENQI_REHEARSAL_KEY_FILE;
  if (!file) return undefined;
  return {
    key: readKey(file),
    databaseUrl: env.FENQI_SHADOW_DATABASE_URL || undefined,
    migrationDatabaseUrl: env.FENQI_SHADOW_MIGRATION_DATABASE_URL || undefined,
    redisUrl: env.FENQI_SHADOW_REDIS_URL || undefined,
    natsUser: env.FENQI_SHADOW_NATS_USER || undefined,
    natsPassword: env.FENQI_SHADOW_NATS_PASSWORD || undefined,
  };
}
