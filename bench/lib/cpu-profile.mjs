/**
 * CPU profile of a whole process, loaded with `NODE_OPTIONS="--import <this file>"` (node refuses
 * `--cpu-prof` in NODE_OPTIONS): profiles from start to exit and writes a .cpuprofile (open it in
 * Chrome DevTools, or summarise with bench/lib/profile-top.ts) into FENQI_CPU_PROFILE_DIR.
 * Plain JavaScript: NODE_OPTIONS applies to worker threads too, which start without tsx's loader;
 * only the main thread is profiled.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.FENQI_CPU_PROFILE_DIR;
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-process inspector answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const name = `${process.argv
        .slice(2)
        .join('-')
        .replace(/[^\w.-]+/g, '_')
        .slice(-40)}-${process.pid}.cpuprofile`;
      writeFileSync(path.join(dir, name), JSON.stringify(result.profile));
    });
  });
}
