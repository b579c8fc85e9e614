/**
 * The Redis Cluster test matrix: a *.cluster.test.ts file here runs an existing test file unchanged
 * against a three-master Redis Cluster (FENQI_TEST_CACHE=cluster makes startCache() start one, see
 * test/harness/cache.ts). As files of their own they run beside the rest of the suite instead of
 * after it, the way test/citus/*.citus.test.ts run the Citus matrix.
 */
export async function runOnRedisCluster(testFileUrl: URL): Promise<void> {
  process.env.FENQI_TEST_CACHE = 'cluster';
  await import(testFileUrl.href);
}
