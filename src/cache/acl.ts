/**
 * The Redis ACL of fenqi's own user: its key prefix only, no pub/sub channels, and only the
 * commands the cache and its Lua scripts run (scripts are checked command by command too).
 * No CONFIG, FLUSHALL, KEYS, DEBUG or MODULE: a stolen app password cannot wipe or reconfigure
 * Redis. The harness and `fenqi ops up` write it into redis.conf; docs/security.md shows it.
 */
import { createHash } from 'node:crypto';
import { CACHE_PREFIX, SHADOW_CACHE_PREFIX } from './cache.ts';

export const REDIS_APP_USER = 'fenqi_app';
/** The rehearsal's user: the same commands, on the shadow prefix only (docs/rehearsal.md). */
export const REDIS_SHADOW_USER = 'fenqi_shadow';

/**
 * GET/SET/DEL and the scripts' INCR, INCRBY and PEXPIRE; EVAL/EVALSHA for the scripts; PING for
 * /ready; INFO is ioredis's ready check on connect. On a Redis Cluster the client reads the slot
 * map (CLUSTER SLOTS) and checks the cluster is whole (CLUSTER INFO); both only read topology.
 */
export const REDIS_APP_COMMANDS = [
  'get',
  'set',
  'del',
  'incr',
  'incrby',
  'pexpire',
  'eval',
  'evalsha',
  'ping',
  'info',
  'cluster|slots',
  'cluster|info',
] as const;

/** An ACL rule line for redis.conf (`user ...`); the password goes in as its SHA-256 only. */
export function redisAppAclRule(password: string, user = REDIS_APP_USER, prefix = CACHE_PREFIX): string {
  const hash = createHash('sha256').update(password).digest('hex');
  const commands = REDIS_APP_COMMANDS.map((c) => `+${c}`).join(' ');
  return `user ${user} reset on #${hash} ~${prefix}* resetchannels -@all ${commands}`;
}

/** The shadow user's rule: neither it can read a production key nor fenqi_app a shadow one. */
export function redisShadowAclRule(password: string, user = REDIS_SHADOW_USER): string {
  return redisAppAclRule(password, user, SHADOW_CACHE_PREFIX);
}
