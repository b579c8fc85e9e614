// ../flash/redis-down.test.ts on a Redis Cluster (test/redis-cluster/matrix.ts).
import { runOnRedisCluster } from './matrix.ts';

await runOnRedisCluster(new URL('../flash/redis-down.test.ts', import.meta.url));
