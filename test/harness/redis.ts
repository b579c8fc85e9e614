/** A throwaway Redis on a free loopback port, no persistence. */
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

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const binary = findBinary(['redis-server', '/usr/bin/redis-server'], 'redis-server');
  const dir = tempDir('redis');
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  let server: SpawnedServer | undefined;
  const start = async () => {
    server = await startServer('redis-server', binary, args, () => portAccepts(port));
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => server && stopChild(server.child, 'SIGTERM'),
    start,
    async destroy() {
      if (server) await stopChild(server.child, 'SIGKILL');
      removeTempDir(dir);
    },
  };
}
