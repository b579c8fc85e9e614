// ../cob/cob.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../cob/cob.test.ts', import.meta.url));
