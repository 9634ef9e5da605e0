/**
 * Profiling helper: pulls the 100k-record study a few times with one client while the mock runs in
 * its own process. Run it under the profiler:
 *
 *   node --cpu-prof --cpu-prof-dir bench/results/prof --import tsx bench/profile.ts --client sdk
 */
import { pullFloor, pullSequential, pullWithSdk, startServerProcess, timed } from './lib.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}
const records = Number(option('records', '100000'));
const latency = Number(option('latency', '0'));
const runs = Number(option('runs', '3'));
const client = option('client', 'sdk');
const pull = { sdk: pullWithSdk, floor: pullFloor, sequential: pullSequential }[client];
if (!pull) throw new Error(`unknown client ${client}`);

const server = await startServerProcess(records, latency);
try {
  for (let i = 0; i < runs; i++) {
    const s = await timed(() => pull(server.url, server.studyKey), records, client);
    process.stderr.write(`${client} ${s.seconds.toFixed(3)} s, cpu ${s.cpuSeconds.toFixed(3)} s\n`);
  }
} finally {
  await server.stop();
}
