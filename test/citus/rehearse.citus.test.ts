// ../rehearsal/rehearse.test.ts on Citus (test/citus/matrix.ts): the shadow schema distributed and
// co-located, a rehearsal planned, run (tagged orders settling on the shadow side), reported, its
// close of business and automatic debit, cleaned, production byte-identical. About 40 s, so only
// with FENQI_TEST_REHEARSAL_CITUS=1 (CI's budget); docs/rehearsal.md.
import { test } from 'node:test';
import { runOnCitus } from './matrix.ts';

if (process.env.FENQI_TEST_REHEARSAL_CITUS === '1') {
  await runOnCitus(new URL('../rehearsal/rehearse.test.ts', import.meta.url));
} else {
  test('rehearsal/rehearse.test.ts on Citus', {
    skip: 'set FENQI_TEST_REHEARSAL_CITUS=1 (about 40 s: a Citus cluster with the shadow side)',
  }, () => {});
}
