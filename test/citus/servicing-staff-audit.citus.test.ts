// ../servicing/staff-audit.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/staff-audit.test.ts', import.meta.url));
