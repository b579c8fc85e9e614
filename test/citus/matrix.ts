/**
 * The Citus test matrix: a *.citus.test.ts file here runs an existing test file unchanged against a
 * Citus coordinator with two workers (FENQI_TEST_DB=citus makes startPostgres() start one, see
 * test/harness/citus.ts). Where Citus is not installed the file reports one skipped test that says
 * why, and the rest of the suite runs as usual.
 */
import { test } from 'node:test';
import { citusUnavailableReason } from '../harness/citus.ts';

export async function runOnCitus(testFileUrl: URL): Promise<void> {
  const reason = citusUnavailableReason();
  if (reason) {
    test(`${testFileUrl.pathname.split('/test/').pop()} on Citus`, { skip: reason }, () => {});
    return;
  }
  process.env.FENQI_TEST_DB = 'citus';
  await import(testFileUrl.href);
}
