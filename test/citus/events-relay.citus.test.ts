// ../events/relay.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../events/relay.test.ts', import.meta.url));
