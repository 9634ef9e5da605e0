/**
 * Extraction benchmark: how fast the SDK pulls a whole study compared with the floor, what a careful
 * user writes with plain fetch (page 0, then exactly N requests in flight, `response.json()`,
 * nothing else), in these scenarios:
 *
 *   prepared-50      50 ms per request; pages prepared in advance (the server only copies bytes)
 *   prepared-0       0 ms; pages prepared in advance: the client's CPU is what is measured
 *   prepared-jitter  50 ± 25 ms, where in-order delivery costs most
 *   mock-0           0 ms, the mock API rendering every page (its CPU shares the machine)
 *   cap-12           50 ms, a server that handles 12 requests at once and answers 429 with
 *                    Retry-After: 0.2 beyond; the SDK starts at 8 and may grow to 32, the floor is
 *                    the best fixed setting (12 in flight)
 *
 * then how much memory streaming a million records takes. The mock runs in a child process
 * (bench/server.ts) so its CPU is not charged to the clients; the stream runs in a fresh child
 * (bench/stream.ts, bundled to plain JavaScript as an application would run it) so its peak RSS is
 * its own. Clients alternate within each round.
 *
 *   npm run bench:extract                        # everything, 5 runs after 1 warm-up
 *   npx tsx bench/extract.ts --runs 3 --skip-stream --scenarios prepared-0,cap-12
 *   npx tsx bench/extract.ts --only-stream
 *
 * Figures go to stdout (as Markdown tables) and to bench/results/extract.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flag, numberOption, option } from './args.js';
import { bundleClient, runClientProcess } from './clients.js';
import {
  BENCH_DIR,
  CONCURRENCY,
  machineBusySeconds,
  median,
  PAGE_SIZE,
  type PullResult,
  processCpuSeconds,
  pullFloor,
  pullSequential,
  pullWithSdk,
  type Sample,
  type ServerSettings,
  startServerProcess,
  timed,
  waitForQuiet,
} from './lib.js';

// ---- options ----

const RECORDS = numberOption('records', 100_000);
const RUNS = numberOption('runs', 5);
const WARMUP = numberOption('warmup', 1);
const STREAM_RECORDS = numberOption('stream-records', 1_000_000);
const SKIP_STREAM = flag('skip-stream');
// A sample taken while other work kept more than this many cores busy is taken again (up to
// NOISY_RETRIES times) and the quietest one is kept: the machine may be shared.
const MAX_BACKGROUND = numberOption('max-background', 0.25);
const NOISY_RETRIES = numberOption('noisy-retries', 3);
// Before each sample, wait up to this many seconds for the rest of the machine to go quiet.
const QUIET_WAIT_S = numberOption('quiet-wait', 120);
const ONLY_STREAM = flag('only-stream');
const CAP = 12;
const ADAPTIVE_MAX = 32;

// A full collection between samples, so that one client's garbage is not collected on another's time.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 3) => n.toFixed(digits);

// ---- clients and scenarios ----

type ClientName =
  | 'sdk'
  | 'sdk-8'
  | 'sdk-no-validation'
  | 'sdk-adaptive'
  | 'floor'
  | 'floor-12'
  | 'sequential';
const CLIENTS: Record<
  ClientName,
  { label: string; pull: (url: string, key: string) => Promise<PullResult> }
> = {
  sdk: {
    label: 'SDK records.list (defaults: validation on, concurrency 8)',
    pull: (u, k) => pullWithSdk(u, k),
  },
  'sdk-8': {
    label: `SDK records.list, held at ${CONCURRENCY} in flight (maxConcurrency ${CONCURRENCY}), like the floor`,
    pull: (u, k) => pullWithSdk(u, k, { maxConcurrency: CONCURRENCY }),
  },
  'sdk-no-validation': {
    label: 'SDK records.list, validate: false',
    pull: (u, k) => pullWithSdk(u, k, { validate: false }),
  },
  'sdk-adaptive': {
    label: `SDK records.list, concurrency ${CONCURRENCY}, maxConcurrency ${ADAPTIVE_MAX}`,
    pull: (u, k) => pullWithSdk(u, k, { maxConcurrency: ADAPTIVE_MAX }),
  },
  floor: {
    label: `floor: plain fetch, ${CONCURRENCY} in flight`,
    pull: (u, k) => pullFloor(u, k, CONCURRENCY),
  },
  'floor-12': {
    label: `floor: plain fetch, ${CAP} in flight (best fixed setting)`,
    pull: (u, k) => pullFloor(u, k, CAP),
  },
  sequential: { label: 'sequential plain fetch (page after page)', pull: pullSequential },
};

interface ScenarioSpec {
  name: string;
  title: string;
  server: Omit<ServerSettings, 'records'>;
  clients: ClientName[];
  /** The client the others are compared with. */
  baseline: ClientName;
  /** The SDK client held to `target` times the baseline. */
  subject: ClientName;
  target: number;
  /** Most requests answered 429, as a share of all requests the subject sent. */
  maxRateLimited?: number;
}

const SCENARIOS: ScenarioSpec[] = [
  {
    name: 'prepared-50',
    title: '50 ms per request, pages prepared in advance',
    server: { latencyMs: 50, prepared: true },
    clients: ['sdk', 'sdk-8', 'sdk-no-validation', 'floor', 'sequential'],
    baseline: 'floor',
    subject: 'sdk',
    target: 1.1,
  },
  {
    name: 'prepared-0',
    title: '0 ms per request, pages prepared in advance (client CPU-bound)',
    server: { latencyMs: 0, prepared: true },
    clients: ['sdk', 'sdk-8', 'sdk-no-validation', 'floor', 'sequential'],
    baseline: 'floor',
    subject: 'sdk',
    target: 1.3,
  },
  {
    name: 'prepared-jitter',
    title: '50 ± 25 ms per request, pages prepared in advance',
    server: { latencyMs: 50, jitterMs: 25, prepared: true },
    clients: ['sdk', 'sdk-8', 'floor'],
    baseline: 'floor',
    subject: 'sdk',
    target: 1.1,
  },
  {
    name: 'mock-0',
    title: '0 ms per request, the mock API rendering every page',
    server: { latencyMs: 0 },
    clients: ['sdk', 'floor'],
    baseline: 'floor',
    subject: 'sdk',
    target: 1.3,
  },
  {
    name: `cap-${CAP}`,
    title: `50 ms per request, server handles ${CAP} at once (429 + Retry-After: 0.2 beyond)`,
    server: { latencyMs: 50, prepared: true, maxInFlight: CAP, retryAfterSeconds: 0.2 },
    clients: ['sdk-adaptive', 'floor-12'],
    baseline: 'floor-12',
    subject: 'sdk-adaptive',
    target: 1.1,
    maxRateLimited: 0.02,
  },
];
const WANTED = option('scenarios')?.split(',');
const unknown = WANTED?.filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown?.length)
  throw new Error(
    `unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );

const noisy = (sample: Sample) => (sample.backgroundCores ?? 0) > MAX_BACKGROUND;
const describe = (sample: Sample) =>
  `${fmt(sample.seconds)} s  (cpu: client ${fmt(sample.cpuSeconds, 2)} s, server ${
    sample.serverCpuSeconds === undefined ? '?' : fmt(sample.serverCpuSeconds, 2)
  } s, other work ${sample.backgroundCores === undefined ? '?' : fmt(sample.backgroundCores, 2)} cores)`;
const medianOf = (samples: Sample[], pick: (s: Sample) => number | undefined) => {
  const values = samples.map(pick).filter((x): x is number => x !== undefined);
  return values.length ? median(values) : undefined;
};

/** One sample plus what the server counted during it. */
interface CountedSample extends Sample {
  requests: number;
  rateLimited: number;
  serverMaxInFlight: number;
}

interface ClientFigures {
  client: ClientName;
  label: string;
  samples: CountedSample[];
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  medianCpuSeconds: number;
  medianServerCpuSeconds?: number;
  medianBackgroundCores?: number;
  recordsPerSecond: number;
  ratioToBaseline: number;
  /** Share of requests answered 429, over all samples. */
  rateLimitedShare: number;
  medianRequests: number;
}

interface ScenarioFigures {
  spec: ScenarioSpec;
  records: number;
  pages: number;
  runs: number;
  warmup: number;
  clients: ClientFigures[];
}

async function runScenario(spec: ScenarioSpec): Promise<ScenarioFigures> {
  const server = await startServerProcess({ records: RECORDS, ...spec.server });
  log(`\n== ${spec.name}: ${RECORDS} records, ${spec.title}; mock server pid ${server.pid} at ${server.url}`);
  const names = spec.clients;
  const samples = Object.fromEntries(names.map((n) => [n, [] as CountedSample[]])) as Record<
    ClientName,
    CountedSample[]
  >;
  try {
    for (let round = -WARMUP; round < RUNS; round++) {
      // Rotate the order every round so no client always runs first (or right after the slow one).
      const order = names.map((_, i) => names[(i + Math.max(0, round)) % names.length]!);
      for (const name of order) {
        const tag = round < 0 ? 'warm-up' : `run ${round + 1}/${RUNS}`;
        const measure = async (): Promise<CountedSample> => {
          gc();
          if (QUIET_WAIT_S > 0) {
            const waited = await waitForQuiet(MAX_BACKGROUND, QUIET_WAIT_S * 1000);
            if (waited === undefined)
              log(`            (the machine stayed busy for ${QUIET_WAIT_S} s; measuring anyway)`);
            else if (waited > 1500)
              log(`            (waited ${(waited / 1000).toFixed(1)} s for other work to finish)`);
          }
          await server.stats(true);
          const sample = await timed(
            () => CLIENTS[name].pull(server.url, server.studyKey),
            RECORDS,
            name,
            server.pid,
          );
          const counted = await server.stats(true);
          const out = {
            ...sample,
            requests: counted.requests,
            rateLimited: counted.rateLimited,
            serverMaxInFlight: counted.maxInFlight,
          };
          const limited = counted.rateLimited
            ? `, ${counted.rateLimited}/${counted.requests} answered 429`
            : '';
          log(
            `  ${tag.padEnd(9)} ${name.padEnd(18)} ${describe(sample)}; max ${counted.maxInFlight} in flight${limited}`,
          );
          return out;
        };
        let sample = await measure();
        for (let retry = 0; round >= 0 && retry < NOISY_RETRIES && noisy(sample); retry++) {
          log('            (other work was running; measuring again)');
          const again = await measure();
          if ((again.backgroundCores ?? 0) < (sample.backgroundCores ?? 0)) sample = again;
        }
        if (round >= 0) samples[name].push(sample);
      }
    }
  } finally {
    await server.stop();
  }
  const med = (name: ClientName) => median(samples[name].map((s) => s.seconds));
  const baseline = med(spec.baseline);
  return {
    spec,
    records: RECORDS,
    pages: Math.ceil(RECORDS / PAGE_SIZE),
    runs: RUNS,
    warmup: WARMUP,
    clients: names.map((name) => {
      const list = samples[name];
      const seconds = list.map((s) => s.seconds);
      const m = med(name);
      const requests = list.reduce((n, s) => n + s.requests, 0);
      return {
        client: name,
        label: CLIENTS[name].label,
        samples: list,
        medianSeconds: m,
        minSeconds: Math.min(...seconds),
        maxSeconds: Math.max(...seconds),
        medianCpuSeconds: median(list.map((s) => s.cpuSeconds)),
        medianServerCpuSeconds: medianOf(list, (s) => s.serverCpuSeconds),
        medianBackgroundCores: medianOf(list, (s) => s.backgroundCores),
        recordsPerSecond: RECORDS / m,
        ratioToBaseline: m / baseline,
        rateLimitedShare: requests ? list.reduce((n, s) => n + s.rateLimited, 0) / requests : 0,
        medianRequests: median(list.map((s) => s.requests)),
      };
    }),
  };
}

// ---- scenario 2: a million records streamed in a fresh process ----

interface StreamFigures {
  client: 'sdk' | 'floor';
  latencyMs: number;
  serverCpuSeconds?: number;
  backgroundCores?: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  cpuSeconds: number;
  /** CPU of the client process over its whole life, start-up included. */
  processCpuSeconds: number;
  baselineRssMB: number;
  peakRssSampledMB: number;
  maxRssMB: number;
  peakHeapUsedMB: number;
}

async function runStream(client: 'sdk' | 'floor', latencyMs: number): Promise<StreamFigures> {
  const server = await startServerProcess({ records: STREAM_RECORDS, latencyMs });
  log(
    `\n== streaming ${STREAM_RECORDS} records with the ${client}, ${latencyMs} ms latency; mock server pid ${server.pid}`,
  );
  try {
    if (QUIET_WAIT_S > 0 && (await waitForQuiet(MAX_BACKGROUND, QUIET_WAIT_S * 1000)) === undefined) {
      log(`  (the machine stayed busy for ${QUIET_WAIT_S} s; measuring anyway)`);
    }
    // Bundled before the clock starts: bench/stream.ts as plain JavaScript, as an application runs it.
    const script = await bundleClient('stream.ts');
    const server0 = processCpuSeconds(server.pid);
    const busy0 = machineBusySeconds();
    const t0 = performance.now();
    const measured = await runClientProcess<Omit<StreamFigures, 'client' | 'latencyMs'>>(
      script,
      [
        '--url',
        server.url,
        '--study',
        server.studyKey,
        '--records',
        String(STREAM_RECORDS),
        '--client',
        client,
      ],
      'the stream client',
    );
    const wall = (performance.now() - t0) / 1000;
    const server1 = processCpuSeconds(server.pid);
    const busy1 = machineBusySeconds();
    const figures: StreamFigures = { client, latencyMs, ...measured };
    if (server0 !== undefined && server1 !== undefined) figures.serverCpuSeconds = server1 - server0;
    if (busy0 !== undefined && busy1 !== undefined && figures.serverCpuSeconds !== undefined) {
      // the client's whole life (start-up included) is inside the wall time measured here
      const others = busy1 - busy0 - figures.serverCpuSeconds - figures.processCpuSeconds;
      figures.backgroundCores = Math.max(0, others / wall);
    }
    log(
      `  ${figures.records} records in ${fmt(figures.seconds)} s (${Math.round(figures.recordsPerSecond)} records/s), ` +
        `peak RSS ${figures.maxRssMB} MB (sampled ${figures.peakRssSampledMB} MB, baseline ${figures.baselineRssMB} MB)`,
    );
    return figures;
  } finally {
    await server.stop();
  }
}

// ---- report ----

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function cpuModel(): Promise<string> {
  try {
    const text = await readFile('/proc/cpuinfo', 'utf8');
    const match = /^model name\s*:\s*(.+)$/m.exec(text);
    return match?.[1]?.trim() ?? machine().cpu;
  } catch {
    return machine().cpu;
  }
}

const opt = (n: number | undefined) => (n === undefined ? '?' : fmt(n, 2));

const STREAM_LATENCIES = [0, 50];
const STREAM_RSS_TARGET_MB = 150;

function markdown(scenarios: ScenarioFigures[], streams: StreamFigures[], targets: TargetCheck[]): string {
  const lines: string[] = [];
  for (const s of scenarios) {
    lines.push(
      `### ${s.spec.name}: ${s.records.toLocaleString('en-US')} records, ${s.pages} pages of ${PAGE_SIZE}, ${s.spec.title}`,
      '',
      `${s.runs} runs after ${s.warmup} warm-up, clients alternated; ratios compare medians; CPU and other-work columns are medians.`,
      '',
      `| client | median s | min s | max s | records/s | ratio to ${s.spec.baseline} | requests | answered 429 | client CPU s | server CPU s | other work (cores) |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const c of s.clients) {
      lines.push(
        `| ${c.label} | ${fmt(c.medianSeconds)} | ${fmt(c.minSeconds)} | ${fmt(c.maxSeconds)} | ${Math.round(c.recordsPerSecond).toLocaleString('en-US')} | ${fmt(c.ratioToBaseline, 2)}x | ${c.medianRequests} | ${fmt(c.rateLimitedShare * 100, 1)} % | ${fmt(c.medianCpuSeconds, 2)} | ${opt(c.medianServerCpuSeconds)} | ${opt(c.medianBackgroundCores)} |`,
      );
    }
    lines.push('');
  }
  if (streams.length > 0) {
    lines.push(
      `### Streaming ${STREAM_RECORDS.toLocaleString('en-US')} records (SDK \`for await\` with defaults, or the floor; the mock rendering pages; bundled JavaScript in plain Node)`,
      '',
      '| client | latency | time s | records/s | peak RSS (maxRSS) MB | peak RSS (sampled) MB | RSS at start MB | peak heap used MB | client CPU s | server CPU s | other work (cores) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const f of streams) {
      lines.push(
        `| ${f.client} | ${f.latencyMs} ms | ${fmt(f.seconds, 2)} | ${Math.round(f.recordsPerSecond).toLocaleString('en-US')} | ${f.maxRssMB} | ${f.peakRssSampledMB} | ${f.baselineRssMB} | ${f.peakHeapUsedMB} | ${fmt(f.cpuSeconds, 2)} | ${opt(f.serverCpuSeconds)} | ${opt(f.backgroundCores)} |`,
      );
    }
    lines.push('');
  }
  lines.push('### Targets', '', '| target | figure | met |', '| --- | --- | --- |');
  for (const t of targets) lines.push(`| ${t.target} | ${t.figure} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  return lines.join('\n');
}

interface TargetCheck {
  target: string;
  figure: string;
  met: boolean;
}

function checkTargets(scenarios: ScenarioFigures[], streams: StreamFigures[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const s of scenarios) {
    const subject = s.clients.find((c) => c.client === s.spec.subject)!;
    out.push({
      target: `${s.spec.name}: ${s.spec.subject} within ${s.spec.target}x of ${s.spec.baseline}`,
      figure: `${fmt(subject.ratioToBaseline, 2)}x`,
      met: subject.ratioToBaseline <= s.spec.target,
    });
    if (s.spec.maxRateLimited !== undefined) {
      out.push({
        target: `${s.spec.name}: at most ${s.spec.maxRateLimited * 100} % of ${s.spec.subject}'s requests answered 429`,
        figure: `${fmt(subject.rateLimitedShare * 100, 1)} %`,
        met: subject.rateLimitedShare <= s.spec.maxRateLimited,
      });
    }
  }
  for (const f of streams.filter((x) => x.client === 'sdk')) {
    out.push({
      target: `${STREAM_RECORDS.toLocaleString('en-US')} records streamed at ${f.latencyMs} ms: peak RSS at most ${STREAM_RSS_TARGET_MB} MB`,
      figure: `${f.maxRssMB} MB`,
      met: f.maxRssMB <= STREAM_RSS_TARGET_MB,
    });
  }
  return out;
}

// ---- main ----

const scenarios: ScenarioFigures[] = [];
const streams: StreamFigures[] = [];
const started = new Date();
if (!ONLY_STREAM) {
  for (const spec of SCENARIOS)
    if (!WANTED || WANTED.includes(spec.name)) scenarios.push(await runScenario(spec));
}
if (!SKIP_STREAM) {
  for (const latency of STREAM_LATENCIES) {
    for (const client of ['sdk', 'floor'] as const) streams.push(await runStream(client, latency));
  }
}

const targets = checkTargets(scenarios, streams);
const report = {
  started: started.toISOString(),
  machine: { ...machine(), cpu: await cpuModel() },
  settings: { records: RECORDS, pageSize: PAGE_SIZE, concurrency: CONCURRENCY, runs: RUNS, warmup: WARMUP },
  scenarios,
  streams,
  targets,
};
const md = markdown(scenarios, streams, targets);
const resultsDir = `${BENCH_DIR}results`;
await mkdir(resultsDir, { recursive: true });
await writeFile(`${resultsDir}/extract.json`, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(
  `\n${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}\n\n${md}`,
);
log('\nwritten: bench/results/extract.json');
process.exitCode = targets.every((t) => t.met) ? 0 : 1;
