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
import { NATS_SHADOW_USER, natsAccounts } from '../../src/rehearsal/nats.ts';
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
/** `shadow`: the rehearsal's user, in its own account (a server started with `shadowAccount`). */
export type NatsUser = NatsService | 'admin' | 'shadow';

export interface NatsOptions {
  /**
   * Production users in account FENQI and the rehearsal's shadow user alone in FENQI_SHADOW, the
   * accounts block src/rehearsal/nats.ts makes (as `fenqi ops up` writes it), instead of one
   * global user list.
   */
  shadowAccount?: boolean;
}

export interface NatsServer {
  /** tls:// URL (credentials are given apart: NATS_USER, NATS_PASSWORD). */
  url: string;
  port: number;
  tls: TlsFiles | undefined;
  /** User, password and CA for a service (default: admin, who may do anything). */
  link(as?: NatsUser): NatsLink;
  /** NATS_URL, NATS_CA_FILE, NATS_USER and NATS_PASSWORD of a fenqi process (default: API and workers in one). */
  env(as?: NatsService | 'shadow'): {
    NATS_URL: string;
    NATS_CA_FILE: string;
    NATS_USER: string;
    NATS_PASSWORD: string;
  };
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
  if (as === 'shadow') return NATS_SHADOW_USER;
  return as === 'admin' ? NATS_ADMIN_USER : NATS_USERS[as];
}

const SERVICES: NatsService[] = ['api', 'worker', 'platform'];

function adminEntry(password: string) {
  return {
    user: NATS_ADMIN_USER,
    password,
    permissions: {
      publish: { allow: ['>'] },
      subscribe: { allow: [`${natsInboxPrefix(NATS_ADMIN_USER)}.>`, '>'] },
    },
  };
}

/** Who may connect: one user list, or (shadowAccount) the production and shadow accounts. */
function authBlock(passwords: Record<NatsUser, string>, options: NatsOptions): object {
  if (options.shadowAccount) {
    const { api, worker, platform, shadow, admin } = passwords;
    return { accounts: natsAccounts({ api, worker, platform }, shadow, [adminEntry(admin)]) };
  }
  return {
    authorization: {
      users: [
        adminEntry(passwords.admin),
        ...SERVICES.map((s) => ({
          user: NATS_USERS[s],
          password: passwords[s],
          permissions: natsPermissions(s),
        })),
      ],
    },
  };
}

function writeConfig(
  dir: string,
  port: number,
  passwords: Record<NatsUser, string>,
  options: NatsOptions,
): string {
  const certs = testCerts();
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
    ...authBlock(passwords, options),
  };
  const file = path.join(dir, 'nats.conf');
  // NATS's configuration parser reads JSON
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const binary = findBinary(['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'], 'nats-server');
  const dir = tempDir('nats');
  const port = await freePort();
  const passwords: Record<NatsUser, string> = {
    admin: testPassword(),
    api: testPassword(),
    worker: testPassword(),
    platform: testPassword(),
    shadow: testPassword(),
  };
  const config = writeConfig(dir, port, passwords, options);
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
