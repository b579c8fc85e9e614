/** A throwaway NATS server with JetStream, file storage in a temp dir that survives restarts. */
import path from 'node:path';
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

export interface NatsServer {
  url: string;
  port: number;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Start again on the same port and store. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startNats(): Promise<NatsServer> {
  const binary = findBinary(['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'], 'nats-server');
  const dir = tempDir('nats');
  const port = await freePort();
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', path.join(dir, 'jetstream')];
  let server: SpawnedServer | undefined;
  const start = async () => {
    server = await startServer(
      'nats-server',
      binary,
      args,
      async (s) => (await portAccepts(port)) && s.output().includes('Server is ready'),
    );
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: async () => server && stopChild(server.child, 'SIGTERM'),
    kill: async () => server && stopChild(server.child, 'SIGKILL'),
    start,
    async destroy() {
      if (server) await stopChild(server.child, 'SIGKILL');
      removeTempDir(dir);
    },
  };
}
