/**
 * Writes the synthetic credit-default data set (test/risk/credit-default-synthetic.ts) to a file:
 *   node --import tsx scripts/credit-default-csv.ts ROWS SEED OUT.csv
 */
import { createWriteStream } from 'node:fs';
import { CREDIT_DEFAULT_HEADER, creditDefaultLines } from '../test/risk/credit-default-synthetic.ts';

const LINES_PER_WRITE = 10_000;

async function main(): Promise<void> {
  const [rowsText, seedText, path] = process.argv.slice(2);
  if (!rowsText || !seedText || !path) throw new Error('usage: credit-default-csv.ts ROWS SEED OUT.csv');
  const out = createWriteStream(path);
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => (out.write(text) ? resolve() : out.once('drain', resolve)));
  await write(CREDIT_DEFAULT_HEADER.join(',') + '\n');
  let batch: string[] = [];
  for (const line of creditDefaultLines(Number(rowsText), Number(seedText))) {
    batch.push(line);
    if (batch.length === LINES_PER_WRITE) {
      await write(batch.join('\n') + '\n');
      batch = [];
    }
  }
  if (batch.length > 0) await write(batch.join('\n') + '\n');
  await new Promise<void>((resolve) => out.end(resolve));
}

await main();
