/**
 * A throwaway Redis Cluster on loopback: three masters and three replicas (Debian's redis-server
 * with `cluster-enabled yes`), each node started like the single test Redis (redis.ts: TLS only,
 * `default` off, fenqi's ACL user, an admin user), and the cluster bus and replication over TLS too
 * (`tls-cluster yes`, `tls-replication yes`). Replicas authenticate to their master as the admin
 * user. Created with `redis-cli --cluster create ... --cluster-replicas 1`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import type { RedisCacheOptions } from '../../src/cache/redis-cache.ts';
import { readTls, type TlsFiles } from '../../src/link/tls.ts';
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
  waitFor,
} from './process.ts';
import { REDIS_ADMIN_USER, type RedisPasswords, redisConfLines } from './redis.ts';

const run = promisify(execFile);

export const CLUSTER_MASTERS = 3;
export const CLUSTER_REPLICAS_PER_MASTER = 1;
/**
 * How long a node may be unreachable before the others count it failed and its replica takes over.
 * Short, so the failover test does not idle; a production cluster keeps Redis's default (15 s).
 */
export const CLUSTER_NODE_TIMEOUT_MS = 2_000;
/** Bound on the cluster forming, or re-forming after a failover. */
export const CLUSTER_READY_DEADLINE_MS = 60_000;
/** Bound on one probe of one node (CLUSTER INFO, INFO, CLUSTER SLOTS): a dead node fails it fast. */
export const NODE_PROBE_TIMEOUT_MS = 2_000;

interface ClusterNode {
  index: number;
  port: number;
  busPort: number;
  dir: string;
  config: string;
  server: SpawnedServer | undefined;
}

export interface RedisClusterServer {
  kind: 'cluster';
  /** rediss:// as fenqi's app user, on the first node (one seed). */
  url: string;
  tls: TlsFiles;
  ports: number[];
  /** REDIS_URL, REDIS_CLUSTER_NODES and REDIS_CA_FILE of a fenqi process. */
  env(): { REDIS_URL: string; REDIS_CA_FILE: string; REDIS_CLUSTER_NODES: string };
  cacheOptions(): RedisCacheOptions;
  /** A raw cluster client as the admin (default) or app user, verifying the test CA. */
  client(as?: 'app' | 'admin'): Cluster;
  /** A client on one node as the admin user (CLUSTER and INFO commands). */
  nodeClient(port: number): Redis;
  /** The port of the master that serves `slot` now. */
  masterOf(slot: number): Promise<number>;
  /** SIGKILL of one node; it stays down until `restartNode`. */
  killNode(port: number): Promise<void>;
  restartNode(port: number): Promise<void>;
  /** Resolves when every slot is served by a live master, the cluster says ok and replicas are in sync. */
  waitHealthy(): Promise<void>;
  /** Resolves when `slot` is served by a node other than `deadPort` and the cluster is whole again. */
  waitFailover(slot: number, deadPort: number): Promise<number>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function writeNodeConfig(node: ClusterNode, passwords: RedisPasswords): void {
  const cluster = [
    'cluster-enabled yes',
    `cluster-config-file ${path.join(node.dir, 'nodes.conf')}`,
    `cluster-node-timeout ${CLUSTER_NODE_TIMEOUT_MS}`,
    `cluster-port ${node.busPort}`,
    'cluster-announce-ip 127.0.0.1',
    // A cache: the slots of a master still failing over are down, the others keep serving.
    'cluster-require-full-coverage no',
    // Replicas sync at once (the default waits 5 s for more replicas to share one transfer): a
    // replica that never synced cannot take over, and the failover test kills a master early.
    'repl-diskless-sync-delay 0',
    `masteruser ${REDIS_ADMIN_USER}`,
    `masterauth ${passwords.admin}`,
    ...(harnessTls() ? ['tls-cluster yes', 'tls-replication yes'] : []),
  ];
  const lines = [...redisConfLines(node.dir, node.port, passwords), ...cluster];
  writeFileSync(node.config, `${lines.join('\n')}\n`, { mode: 0o600 });
}

function cliArgs(passwords: RedisPasswords): string[] {
  const tls = harnessTls() ? ['--tls', '--cacert', testCerts().caFile] : [];
  return [...tls, '--user', REDIS_ADMIN_USER, '--pass', passwords.admin, '--no-auth-warning'];
}

async function startNode(binary: string, node: ClusterNode): Promise<void> {
  node.server = await startServer(`redis cluster node ${node.port}`, binary, [node.config], () =>
    portAccepts(node.port),
  );
}

export async function startRedisCluster(): Promise<RedisClusterServer> {
  const binary = findBinary(['redis-server', '/usr/bin/redis-server'], 'redis-server');
  const cli = findBinary(['redis-cli', '/usr/bin/redis-cli'], 'redis-tools');
  const root = tempDir('redis-cluster');
  const passwords = { app: testPassword(), admin: testPassword() };
  const count = CLUSTER_MASTERS * (1 + CLUSTER_REPLICAS_PER_MASTER);
  const nodes: ClusterNode[] = [];
  // Twelve ports (client and bus per node); freePort may hand the same one out twice in a row.
  const taken = new Set<number>();
  const unusedPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let index = 0; index < count; index++) {
    const dir = path.join(root, `node-${index}`);
    mkdirSync(dir, { mode: 0o700 });
    const node = {
      index,
      port: await unusedPort(),
      busPort: await unusedPort(),
      dir,
      config: '',
      server: undefined,
    };
    node.config = path.join(dir, 'redis.conf');
    writeNodeConfig(node, passwords);
    nodes.push(node);
  }
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  const tls: TlsFiles = { caFile: testCerts().caFile };
  const tlsOptions = harnessTls() ? { tls: readTls(tls) } : {};
  const scheme = harnessTls() ? 'rediss' : 'redis';
  const url = `${scheme}://fenqi_app:${passwords.app}@127.0.0.1:${nodes[0]!.port}`;
  const seeds = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const nodeClient = (port: number) =>
    new Redis({
      host: '127.0.0.1',
      port,
      username: REDIS_ADMIN_USER,
      password: passwords.admin,
      ...tlsOptions,
      // No reconnects and bounded waits: a probe of a dead or stuck node fails instead of hanging.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: NODE_PROBE_TIMEOUT_MS,
      commandTimeout: NODE_PROBE_TIMEOUT_MS,
    });

  /** CLUSTER INFO and INFO replication of one node, as text. */
  const nodeState = async (port: number): Promise<string> => {
    const client = nodeClient(port);
    client.on('error', () => {});
    try {
      return `${await client.cluster('INFO')}\n${await client.info('replication')}`;
    } finally {
      client.disconnect();
    }
  };
  const live = () =>
    nodes.filter((n) => n.server && n.server.child.exitCode === null && !n.server.child.signalCode);
  const waitHealthy = () =>
    waitFor(
      'redis cluster ok',
      async () => {
        const states = await Promise.all(live().map((n) => nodeState(n.port).catch(() => '')));
        // Whole: every slot served, and every live replica in sync with its master.
        return states.every(
          (s) =>
            /cluster_state:ok/.test(s) &&
            /cluster_slots_ok:16384/.test(s) &&
            (!/role:slave/.test(s) || /master_link_status:up/.test(s)),
        );
      },
      CLUSTER_READY_DEADLINE_MS,
    );

  const cleanup = async () => {
    await Promise.allSettled(nodes.map((n) => n.server && stopChild(n.server.child, 'SIGKILL')));
    removeTempDir(root);
  };
  try {
    await Promise.all(nodes.map((n) => startNode(binary, n)));
    // Bounded: `--cluster create` waits for the nodes to meet, forever if one never can.
    await run(
      cli,
      [
        ...cliArgs(passwords),
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(CLUSTER_REPLICAS_PER_MASTER),
        '--cluster-yes',
      ],
      { timeout: CLUSTER_READY_DEADLINE_MS },
    );
    await waitHealthy();
  } catch (err) {
    await cleanup();
    throw err;
  }

  const masterOf = async (slot: number): Promise<number> => {
    for (const n of live()) {
      const client = nodeClient(n.port);
      client.on('error', () => {});
      try {
        const ranges = await client.cluster('SLOTS');
        const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
        if (master) return master[1];
      } catch {
        // ask the next live node
      } finally {
        client.disconnect();
      }
    }
    throw new Error(`no live node knows who serves slot ${slot}`);
  };

  return {
    kind: 'cluster',
    url,
    tls,
    ports: nodes.map((n) => n.port),
    env: () => ({
      REDIS_URL: url,
      REDIS_CA_FILE: tls.caFile,
      REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    }),
    cacheOptions: () => ({ tls, clusterNodes: seeds }),
    client: (as = 'admin') =>
      new Cluster(seeds, {
        redisOptions: {
          username: as === 'admin' ? REDIS_ADMIN_USER : 'fenqi_app',
          password: as === 'admin' ? passwords.admin : passwords.app,
          ...tlsOptions,
        },
      }),
    nodeClient,
    masterOf,
    killNode: async (port) => {
      const node = byPort(port);
      if (node.server) await stopChild(node.server.child, 'SIGKILL');
    },
    restartNode: (port) => startNode(binary, byPort(port)),
    waitHealthy,
    waitFailover: async (slot, deadPort) => {
      await waitFor(
        `a replica of ${deadPort} promoted`,
        async () => (await masterOf(slot)) !== deadPort,
        CLUSTER_READY_DEADLINE_MS,
      );
      await waitHealthy();
      return masterOf(slot);
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.server && stopChild(n.server.child, 'SIGTERM')));
    },
    start: async () => {
      await Promise.all(nodes.map((n) => startNode(binary, n)));
      await waitHealthy();
    },
    destroy: cleanup,
  };
}
