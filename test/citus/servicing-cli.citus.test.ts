// ../servicing/cli.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/cli.test.ts', import.meta.url));
