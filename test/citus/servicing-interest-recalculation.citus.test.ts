// ../servicing/interest-recalculation.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/interest-recalculation.test.ts', import.meta.url));
