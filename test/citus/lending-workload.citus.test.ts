// ../lending/workload.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../lending/workload.test.ts', import.meta.url));
