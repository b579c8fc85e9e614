// ../notify/notifier.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../notify/notifier.test.ts', import.meta.url));
