// ../foundation/cache.test.ts on a Redis Cluster (test/redis-cluster/matrix.ts).
import { runOnRedisCluster } from './matrix.ts';

await runOnRedisCluster(new URL('../foundation/cache.test.ts', import.meta.url));
