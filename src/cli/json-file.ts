/** Reading a JSON file named on the command line: any failure is a usage error naming the file. */
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.ts';

/** `what` names the file in the message: "cannot read model m.json (not valid JSON)". */
export function readJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why =
      err instanceof SyntaxError ? 'not valid JSON' : ((err as NodeJS.ErrnoException).code ?? 'unreadable');
    throw new UsageError(`cannot read ${what} ${path} (${why})`);
  }
}
