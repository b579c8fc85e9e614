// ../servicing/defects.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/defects.test.ts', import.meta.url));
