// ../settlement/statements.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../settlement/statements.test.ts', import.meta.url));
