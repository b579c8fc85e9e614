// ../servicing/hardship.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/hardship.test.ts', import.meta.url));
