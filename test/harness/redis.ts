/**
 * A throwaway Redis on a free loopback port, no persistence. Started as production runs it
 * (docs/security.md): TLS only (no plaintext port), the `default` user off, fenqi's app user
 * limited to its key prefix and commands (src/cache/acl.ts), and an admin user for the tests.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisAppAclRule } from '../../src/cache/acl.ts';
import type { RedisCacheOptions } from '../../src/cache/redis-cache.ts';
import type { TlsFiles } from '../../src/link/tls.ts';
import { readTls } from '../../src/link/tls.ts';
import { harnessTls, testCerts, testPassword } from './certs.ts';
import {
  findBinary,
  freePort,
  portAccepts,
  removeTempDir,
  type SpawnedServer,
  startServer,
  stopChild,
  tempDir,
} from './process.ts';

export const REDIS_ADMIN_USER = 'fenqi_admin';

export interface RedisServer {
  kind: 'single';
  /** rediss:// as fenqi's app user. */
  url: string;
  /** rediss:// as an admin user (every key and command), for set-up and checks. */
  adminUrl: string;
  port: number;
  tls: TlsFiles;
  /** REDIS_URL and REDIS_CA_FILE of a fenqi process. */
  env(): { REDIS_URL: string; REDIS_CA_FILE: string };
  /** What `new RedisCache(url, ...)` takes to reach this server as fenqi does. */
  cacheOptions(): RedisCacheOptions;
  /** A raw client on `url` (or `adminUrl`), verifying the server against the test CA. */
  client(as?: 'app' | 'admin'): Redis;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface RedisPasswords {
  app: string;
  admin: string;
}

/** The lines every fenqi test Redis shares, single node or cluster node: TLS, ACL, no persistence. */
export function redisConfLines(dir: string, port: number, passwords: RedisPasswords): string[] {
  const certs = testCerts();
  const tls = [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${certs.serverCertFile}`,
    `tls-key-file ${certs.serverKeyFile}`,
    `tls-ca-cert-file ${certs.caFile}`,
    // clients prove themselves with an ACL password; a client certificate is not required
    'tls-auth-clients no',
  ];
  return [
    'bind 127.0.0.1',
    ...(harnessTls() ? tls : [`port ${port}`]),
    'save ""',
    'appendonly no',
    `dir ${dir}`,
    'user default off',
    redisAppAclRule(passwords.app),
    `user ${REDIS_ADMIN_USER} on >${passwords.admin} ~* &* +@all`,
  ];
}

function writeConfig(dir: string, port: number, passwords: RedisPasswords): string {
  const file = path.join(dir, 'redis.conf');
  const lines = redisConfLines(dir, port, passwords);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

export async function startRedis(): Promise<RedisServer> {
  const binary = findBinary(['redis-server', '/usr/bin/redis-server'], 'redis-server');
  const dir = tempDir('redis');
  const port = await freePort();
  const passwords = { app: testPassword(), admin: testPassword() };
  const config = writeConfig(dir, port, passwords);
  const tls: TlsFiles = { caFile: testCerts().caFile };
  let server: SpawnedServer | undefined;
  const start = async () => {
    server = await startServer('redis-server', binary, [config], () => portAccepts(port));
  };
  await start();
  const scheme = harnessTls() ? 'rediss' : 'redis';
  const url = `${scheme}://fenqi_app:${passwords.app}@127.0.0.1:${port}`;
  const adminUrl = `${scheme}://${REDIS_ADMIN_USER}:${passwords.admin}@127.0.0.1:${port}`;
  return {
    kind: 'single',
    url,
    adminUrl,
    port,
    tls,
    env: () => ({ REDIS_URL: url, REDIS_CA_FILE: tls.caFile }),
    cacheOptions: () => ({ tls }),
    client: (as = 'admin') =>
      new Redis(as === 'admin' ? adminUrl : url, harnessTls() ? { tls: readTls(tls) } : {}),
    stop: async () => server && stopChild(server.child, 'SIGTERM'),
    start,
    async destroy() {
      if (server) await stopChild(server.child, 'SIGKILL');
      removeTempDir(dir);
    },
  };
}
