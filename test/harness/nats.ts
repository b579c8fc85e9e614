/**
 * A throwaway NATS server with JetStream, file storage in a temp dir that survives restarts.
 * Started as production runs it (docs/security.md): TLS required, a user per fenqi service with
 * the permissions of src/queue/permissions.ts, and an admin user for tests that make their own
 * streams.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TlsFiles } from '../../src/link/tls.ts';
import type { NatsLink } from '../../src/queue/jetstream-queue.ts';
import {
  NATS_USERS,
  type NatsService,
  natsInboxPrefix,
  natsPermissions,
} from '../../src/queue/permissions.ts';
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

export const NATS_ADMIN_USER = 'fenqi-admin';
export type NatsUser = NatsService | 'admin';

export interface NatsServer {
  /** tls:// URL (credentials are given apart: NATS_USER, NATS_PASSWORD). */
  url: string;
  port: number;
  tls: TlsFiles | undefined;
  /** User, password and CA for a service (default: admin, who may do anything). */
  link(as?: NatsUser): NatsLink;
  /** NATS_URL, NATS_CA_FILE, NATS_USER and NATS_PASSWORD of a fenqi process (default: API and workers in one). */
  env(as?: NatsService): { NATS_URL: string; NATS_CA_FILE: string; NATS_USER: string; NATS_PASSWORD: string };
  /** The server's process id while it runs (benchmarks read its CPU time). */
  pid(): number | undefined;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Start again on the same port and store. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function userName(as: NatsUser): string {
  return as === 'admin' ? NATS_ADMIN_USER : NATS_USERS[as];
}

function writeConfig(dir: string, port: number, passwords: Record<NatsUser, string>): string {
  const certs = testCerts();
  const services: NatsService[] = ['api', 'worker', 'platform'];
  const config = {
    listen: `127.0.0.1:${port}`,
    jetstream: { store_dir: path.join(dir, 'jetstream') },
    // FENQI_TEST_TLS=off: the bench's comparison only
    ...(harnessTls()
      ? {
          tls: {
            cert_file: certs.serverCertFile,
            key_file: certs.serverKeyFile,
            ca_file: certs.caFile,
            timeout: 5,
          },
        }
      : {}),
    authorization: {
      users: [
        {
          user: NATS_ADMIN_USER,
          password: passwords.admin,
          permissions: {
            publish: { allow: ['>'] },
            subscribe: { allow: [`${natsInboxPrefix(NATS_ADMIN_USER)}.>`, '>'] },
          },
        },
        ...services.map((s) => ({
          user: NATS_USERS[s],
          password: passwords[s],
          permissions: natsPermissions(s),
        })),
      ],
    },
  };
  const file = path.join(dir, 'nats.conf');
  // NATS's configuration parser reads JSON
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

export async function startNats(): Promise<NatsServer> {
  const binary = findBinary(['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'], 'nats-server');
  const dir = tempDir('nats');
  const port = await freePort();
  const passwords: Record<NatsUser, string> = {
    admin: testPassword(),
    api: testPassword(),
    worker: testPassword(),
    platform: testPassword(),
  };
  const config = writeConfig(dir, port, passwords);
  const tls: TlsFiles | undefined = harnessTls() ? { caFile: testCerts().caFile } : undefined;
  const url = `${tls ? 'tls' : 'nats'}://127.0.0.1:${port}`;
  let server: SpawnedServer | undefined;
  const start = async () => {
    server = await startServer(
      'nats-server',
      binary,
      ['-c', config],
      async (s) => (await portAccepts(port)) && s.output().includes('Server is ready'),
    );
  };
  await start();
  return {
    url,
    port,
    tls,
    link: (as = 'admin') => ({ user: userName(as), pass: passwords[as], ...(tls ? { tls } : {}) }),
    env: (as = 'platform') => ({
      NATS_URL: url,
      NATS_CA_FILE: tls?.caFile ?? '',
      NATS_USER: userName(as),
      NATS_PASSWORD: passwords[as],
    }),
    pid: () => server?.child.pid,
    stop: async () => server && stopChild(server.child, 'SIGTERM'),
    kill: async () => server && stopChild(server.child, 'SIGKILL'),
    start,
    async destroy() {
      if (server) await stopChild(server.child, 'SIGKILL');
      removeTempDir(dir);
    },
  };
}
