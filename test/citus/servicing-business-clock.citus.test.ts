// ../servicing/business-clock.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/business-clock.test.ts', import.meta.url));
