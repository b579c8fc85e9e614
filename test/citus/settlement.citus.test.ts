// ../settlement/settlement.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../settlement/settlement.test.ts', import.meta.url));
