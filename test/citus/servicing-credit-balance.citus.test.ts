// ../servicing/credit-balance.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/credit-balance.test.ts', import.meta.url));
