// ../servicing/delinquency-policy.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/delinquency-policy.test.ts', import.meta.url));
