// ../servicing/returns.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/returns.test.ts', import.meta.url));
