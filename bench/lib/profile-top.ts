/**
 * The top self-time functions of a .cpuprofile, optionally within a time window (seconds from the
 * profile's start): `node --import tsx bench/lib/profile-top.ts FILE [N] [FROM_S] [TO_S]`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const file = process.argv[2]!;
const top = Number(process.argv[3] ?? 30);
const fromUs = Number(process.argv[4] ?? 0) * 1e6;
const toUs = Number(process.argv[5] ?? Number.POSITIVE_INFINITY) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let atUs = 0;
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  atUs += profile.timeDeltas[i] ?? 0;
  if (atUs < fromUs || atUs > toUs) continue;
  total++;
  const id = profile.samples[i]!;
  const f = byNode.get(id)!.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/src\//, 'src/')}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}\n`);
