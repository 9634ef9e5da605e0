/**
 * The streaming client of the benchmark, run in a fresh process so that its peak RSS is its own:
 * streams every record of a study through `for await` with the SDK (validation on) and prints one
 * JSON line with the count, the time and the memory figures.
 *
 *   npx tsx bench/stream.ts --url http://127.0.0.1:1234 --study BENCH --records 1000000 [--client floor]
 *                           [--concurrency N] [--max-concurrency M] [--by page]
 */
import { Imednet } from '../src/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';
import { option, requiredOption } from './args.js';
import { PAGE_SIZE, pullFloor } from './lib.js';

const url = requiredOption('url');
const studyKey = requiredOption('study');
const expected = Number(requiredOption('records'));

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

const baselineRss = process.memoryUsage().rss;
let peakRss = baselineRss;
let peakHeapUsed = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  if (usage.rss > peakRss) peakRss = usage.rss;
  if (usage.heapUsed > peakHeapUsed) peakHeapUsed = usage.heapUsed;
}, 10);

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let records = 0;
let ordered = true;
if (option('client') === 'floor') {
  // The floor for comparison: plain fetch, 8 in flight, each page parsed and dropped (no order).
  records = (await pullFloor(url, studyKey)).records;
} else {
  const client = new Imednet({ apiKey: DEFAULT_API_KEY, securityKey: DEFAULT_SECURITY_KEY, baseUrl: url });
  const width = option('concurrency');
  const most = option('max-concurrency');
  let lastId = 0;
  const listing = client.records.list(studyKey, {
    pageSize: PAGE_SIZE,
    ...(width ? { concurrency: Number(width) } : {}),
    ...(most ? { maxConcurrency: Number(most) } : {}),
  });
  const check = (id: number) => {
    records++;
    if (id <= lastId) ordered = false;
    lastId = id;
  };
  if (option('by') === 'page') {
    for await (const page of listing.pages()) for (const record of page.items) check(record.recordId);
  } else {
    for await (const record of listing) check(record.recordId);
  }
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const lifetimeCpu = process.cpuUsage();
clearInterval(sampler);
const finalRss = process.memoryUsage().rss;
if (finalRss > peakRss) peakRss = finalRss;
// maxRSS is in kilobytes; it is the kernel's high-water mark for the whole life of the process.
const maxRss = process.resourceUsage().maxRSS * 1024;

if (records !== expected) throw new Error(`streamed ${records} records, expected exactly ${expected}`);
if (!ordered) throw new Error('records did not arrive in recordId order');

process.stdout.write(
  `${JSON.stringify({
    records,
    seconds,
    recordsPerSecond: records / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    processCpuSeconds: (lifetimeCpu.user + lifetimeCpu.system) / 1e6,
    baselineRssMB: mb(baselineRss),
    peakRssSampledMB: mb(peakRss),
    maxRssMB: mb(maxRss),
    peakHeapUsedMB: mb(peakHeapUsed),
  })}\n`,
);
