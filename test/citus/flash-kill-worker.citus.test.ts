// ../flash/kill-worker.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../flash/kill-worker.test.ts', import.meta.url));
