// ../notify/notifier.test.ts on Citus (test/citus/matrix.ts): the notifier's sending over every
// shard, a SIGKILLed worker sending each message once. About 75 s, so only with
// FENQI_TEST_NOTIFY_CITUS=1 (CI's budget); docs/scaling.md.
import { test } from 'node:test';
import { runOnCitus } from './matrix.ts';

if (process.env.FENQI_TEST_NOTIFY_CITUS === '1') {
  await runOnCitus(new URL('../notify/notifier.test.ts', import.meta.url));
} else {
  test('notify/notifier.test.ts on Citus', {
    skip: 'set FENQI_TEST_NOTIFY_CITUS=1 (about 75 s: a Citus cluster and two worker processes)',
  }, () => {});
}
