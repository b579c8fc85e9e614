/**
 * The same bench run twice in one run, under two environments (e.g. servers without and with TLS,
 * plain PostgreSQL and Citus), each in its own process: the bench's last stdout line (one JSON
 * object) is its result.
 */
import { spawn } from 'node:child_process';

export function runBenchOnce(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>)
        : reject(new Error(`${script} exited ${code}`)),
    );
  });
}

/** `a / b` for each key both results hold as a number, named `<key>_<suffix>`. */
export function ratios(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  keys: readonly string[],
  suffix: string,
): Record<string, number> {
  const numeric = keys.filter((k) => typeof a[k] === 'number' && typeof b[k] === 'number');
  return Object.fromEntries(
    numeric.map((k) => [
      `${k}_${suffix}`,
      Number(((a[k] as number) / Math.max(1e-9, b[k] as number)).toFixed(3)),
    ]),
  );
}
