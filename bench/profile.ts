/**
 * Profiling helper: pulls the 100k-record study a few times with one client while the mock runs in
 * its own process. Run it under the profiler:
 *
 *   node --cpu-prof --cpu-prof-dir bench/results/prof --import tsx bench/profile.ts --client sdk [--prepared]
 */
import { flag, numberOption, option } from './args.js';
import { pullFloor, pullSequential, pullWithSdk, startServerProcess, timed } from './lib.js';

const records = numberOption('records', 100_000);
const latency = numberOption('latency', 0);
const runs = numberOption('runs', 3);
const client = option('client') ?? 'sdk';
const pull = { sdk: pullWithSdk, floor: pullFloor, sequential: pullSequential }[client];
if (!pull) throw new Error(`unknown client ${client}`);

const server = await startServerProcess({ records, latencyMs: latency, prepared: flag('prepared') });
try {
  for (let i = 0; i < runs; i++) {
    const s = await timed(() => pull(server.url, server.studyKey), records, client);
    process.stderr.write(`${client} ${s.seconds.toFixed(3)} s, cpu ${s.cpuSeconds.toFixed(3)} s\n`);
  }
} finally {
  await server.stop();
}
