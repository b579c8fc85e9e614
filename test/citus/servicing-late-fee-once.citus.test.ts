// ../servicing/late-fee-once.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/late-fee-once.test.ts', import.meta.url));
