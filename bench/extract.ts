/**
 * Extraction benchmark: how fast the SDK pulls a whole study compared with a plain-fetch client
 * that has the same concurrency (the floor) and with a sequential page-by-page client (what the
 * Python SDK does), at 50 ms and 0 ms of server latency; then how much memory streaming a
 * million records takes.
 *
 * The mock API runs in a child process (bench/server.ts) so that its CPU is not charged to the
 * clients; the 1M-record stream runs in another fresh child (bench/stream.ts) so that its peak RSS
 * is its own.
 *
 *   npm run bench:extract                       # everything, 5 runs after 1 warm-up
 *   npx tsx bench/extract.ts --runs 3 --skip-stream
 *   npx tsx bench/extract.ts --only-stream
 *
 * Figures go to stdout (as Markdown tables) and to bench/results/extract.json.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flag, numberListOption, numberOption } from './args.js';
import {
  BENCH_DIR,
  CONCURRENCY,
  machineBusySeconds,
  median,
  min,
  PAGE_SIZE,
  type PullResult,
  processCpuSeconds,
  pullFloor,
  pullSequential,
  pullWithSdk,
  type Sample,
  startServerProcess,
  timed,
  waitForQuiet,
} from './lib.js';

// ---- options ----

const RECORDS = numberOption('records', 100_000);
const RUNS = numberOption('runs', 5);
const WARMUP = numberOption('warmup', 1);
const LATENCIES = numberListOption('latencies', '50,0');
const STREAM_RECORDS = numberOption('stream-records', 1_000_000);
const STREAM_LATENCIES = numberListOption('stream-latencies', '0,50');
const SKIP_STREAM = flag('skip-stream');
// A sample taken while other work kept more than this many cores busy is taken again (up to
// NOISY_RETRIES times) and the quietest one is kept: the machine may be shared.
const MAX_BACKGROUND = numberOption('max-background', 0.25);
const NOISY_RETRIES = numberOption('noisy-retries', 3);
// Before each sample, wait up to this many seconds for the rest of the machine to go quiet.
const QUIET_WAIT_S = numberOption('quiet-wait', 120);
const ONLY_STREAM = flag('only-stream');

const TARGETS = {
  floorRatio50: 1.2,
  sequentialSpeedup50: 5,
  floorRatio0: 1.5,
  streamPeakRssMB: 250,
};

// A full collection between samples, so that one client's garbage is not collected on another's time.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 3) => n.toFixed(digits);

const noisy = (sample: Sample) => (sample.backgroundCores ?? 0) > MAX_BACKGROUND;
const describe = (sample: Sample) =>
  `${fmt(sample.seconds)} s  (cpu: client ${fmt(sample.cpuSeconds, 2)} s, server ${
    sample.serverCpuSeconds === undefined ? '?' : fmt(sample.serverCpuSeconds, 2)
  } s, other work ${sample.backgroundCores === undefined ? '?' : fmt(sample.backgroundCores, 2)} cores)`;
const medianOf = (samples: Sample[], pick: (s: Sample) => number | undefined) => {
  const values = samples.map(pick).filter((x): x is number => x !== undefined);
  return values.length ? median(values) : undefined;
};

// ---- scenario 1: three clients, one run ----

type ClientName = 'sdk' | 'floor' | 'sequential';
const CLIENTS: Record<
  ClientName,
  { label: string; pull: (url: string, key: string) => Promise<PullResult> }
> = {
  sdk: { label: `SDK records.list (validation on, concurrency ${CONCURRENCY})`, pull: pullWithSdk },
  floor: {
    label: `floor: plain fetch, concurrency ${CONCURRENCY}, JSON.parse only`,
    pull: (url, key) => pullFloor(url, key, CONCURRENCY),
  },
  sequential: { label: 'sequential plain fetch (page after page)', pull: pullSequential },
};

interface ClientFigures {
  client: ClientName;
  label: string;
  samples: Sample[];
  medianSeconds: number;
  minSeconds: number;
  medianCpuSeconds: number;
  medianServerCpuSeconds?: number;
  medianBackgroundCores?: number;
  recordsPerSecond: number;
  ratioToFloor: number;
  ratioToSequential: number;
}

interface ScenarioFigures {
  latencyMs: number;
  records: number;
  pages: number;
  runs: number;
  warmup: number;
  clients: ClientFigures[];
}

async function runScenario(latencyMs: number): Promise<ScenarioFigures> {
  const server = await startServerProcess(RECORDS, latencyMs);
  log(`\n== ${RECORDS} records, ${latencyMs} ms latency; mock server pid ${server.pid} at ${server.url}`);
  const names = Object.keys(CLIENTS) as ClientName[];
  const samples: Record<ClientName, Sample[]> = { sdk: [], floor: [], sequential: [] };
  try {
    for (let round = -WARMUP; round < RUNS; round++) {
      // Rotate the order every round so no client always runs first (or right after the slow one).
      const order = names.map((_, i) => names[(i + Math.max(0, round)) % names.length]!);
      for (const name of order) {
        const tag = round < 0 ? 'warm-up' : `run ${round + 1}/${RUNS}`;
        const measure = async () => {
          gc();
          if (QUIET_WAIT_S > 0) {
            const waited = await waitForQuiet(MAX_BACKGROUND, QUIET_WAIT_S * 1000);
            if (waited === undefined)
              log(`            (the machine stayed busy for ${QUIET_WAIT_S} s; measuring anyway)`);
            else if (waited > 1500)
              log(`            (waited ${(waited / 1000).toFixed(1)} s for other work to finish)`);
          }
          const sample = await timed(
            () => CLIENTS[name].pull(server.url, server.studyKey),
            RECORDS,
            name,
            server.pid,
          );
          log(`  ${tag.padEnd(9)} ${name.padEnd(10)} ${describe(sample)}`);
          return sample;
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
  const floor = med('floor');
  const sequential = med('sequential');
  return {
    latencyMs,
    records: RECORDS,
    pages: Math.ceil(RECORDS / PAGE_SIZE),
    runs: RUNS,
    warmup: WARMUP,
    clients: names.map((name) => {
      const seconds = samples[name].map((s) => s.seconds);
      const m = med(name);
      return {
        client: name,
        label: CLIENTS[name].label,
        samples: samples[name],
        medianSeconds: m,
        minSeconds: min(seconds),
        medianCpuSeconds: median(samples[name].map((s) => s.cpuSeconds)),
        medianServerCpuSeconds: medianOf(samples[name], (s) => s.serverCpuSeconds),
        medianBackgroundCores: medianOf(samples[name], (s) => s.backgroundCores),
        recordsPerSecond: RECORDS / m,
        ratioToFloor: m / floor,
        ratioToSequential: m / sequential,
      };
    }),
  };
}

// ---- scenario 2: a million records streamed in a fresh process ----

interface StreamFigures {
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

async function runStream(latencyMs: number): Promise<StreamFigures> {
  const server = await startServerProcess(STREAM_RECORDS, latencyMs);
  log(`\n== streaming ${STREAM_RECORDS} records, ${latencyMs} ms latency; mock server pid ${server.pid}`);
  try {
    if (QUIET_WAIT_S > 0 && (await waitForQuiet(MAX_BACKGROUND, QUIET_WAIT_S * 1000)) === undefined) {
      log(`  (the machine stayed busy for ${QUIET_WAIT_S} s; measuring anyway)`);
    }
    const server0 = processCpuSeconds(server.pid);
    const busy0 = machineBusySeconds();
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        `${BENCH_DIR}stream.ts`,
        '--url',
        server.url,
        '--study',
        server.studyKey,
        '--records',
        String(STREAM_RECORDS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`stream client failed (exit code ${code})`);
    const wall = (performance.now() - t0) / 1000;
    const server1 = processCpuSeconds(server.pid);
    const busy1 = machineBusySeconds();
    const figures: StreamFigures = {
      latencyMs,
      ...(JSON.parse(out.trim()) as Omit<StreamFigures, 'latencyMs'>),
    };
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

function markdown(scenarios: ScenarioFigures[], streams: StreamFigures[], targets: TargetCheck[]): string {
  const lines: string[] = [];
  for (const s of scenarios) {
    lines.push(
      `### ${s.records.toLocaleString('en-US')} records, ${s.pages} pages of ${PAGE_SIZE}, ${s.latencyMs} ms latency`,
      '',
      `${s.runs} runs after ${s.warmup} warm-up; ratios compare medians; CPU and other-work columns are medians.`,
      '',
      '| client | median s | min s | records/s (median) | ratio to floor | ratio to sequential | client CPU s | server CPU s | other work (cores) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const c of s.clients) {
      lines.push(
        `| ${c.label} | ${fmt(c.medianSeconds)} | ${fmt(c.minSeconds)} | ${Math.round(c.recordsPerSecond).toLocaleString('en-US')} | ${fmt(c.ratioToFloor, 2)}x | ${fmt(c.ratioToSequential, 3)}x | ${fmt(c.medianCpuSeconds, 2)} | ${opt(c.medianServerCpuSeconds)} | ${opt(c.medianBackgroundCores)} |`,
      );
    }
    lines.push('');
  }
  if (streams.length > 0) {
    lines.push(
      `### Streaming ${STREAM_RECORDS.toLocaleString('en-US')} records through \`for await\` (SDK, validation on)`,
      '',
      '| latency | time s | records/s | peak RSS (maxRSS) MB | peak RSS (sampled) MB | RSS at start MB | peak heap used MB | client CPU s | server CPU s | other work (cores) |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const f of streams) {
      lines.push(
        `| ${f.latencyMs} ms | ${fmt(f.seconds, 2)} | ${Math.round(f.recordsPerSecond).toLocaleString('en-US')} | ${f.maxRssMB} | ${f.peakRssSampledMB} | ${f.baselineRssMB} | ${f.peakHeapUsedMB} | ${fmt(f.cpuSeconds, 2)} | ${opt(f.serverCpuSeconds)} | ${opt(f.backgroundCores)} |`,
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
  const sdk = (latency: number) =>
    scenarios.find((s) => s.latencyMs === latency)?.clients.find((c) => c.client === 'sdk');
  const at50 = sdk(50);
  if (at50) {
    out.push({
      target: `50 ms: SDK within ${TARGETS.floorRatio50}x of the floor`,
      figure: `${fmt(at50.ratioToFloor, 2)}x`,
      met: at50.ratioToFloor <= TARGETS.floorRatio50,
    });
    const speedup = 1 / at50.ratioToSequential;
    out.push({
      target: `50 ms: SDK at least ${TARGETS.sequentialSpeedup50}x faster than sequential`,
      figure: `${fmt(speedup, 1)}x faster`,
      met: speedup >= TARGETS.sequentialSpeedup50,
    });
  }
  const at0 = sdk(0);
  if (at0) {
    out.push({
      target: `0 ms: SDK within ${TARGETS.floorRatio0}x of the floor`,
      figure: `${fmt(at0.ratioToFloor, 2)}x`,
      met: at0.ratioToFloor <= TARGETS.floorRatio0,
    });
  }
  for (const f of streams) {
    out.push({
      target: `${STREAM_RECORDS.toLocaleString('en-US')} records streamed at ${f.latencyMs} ms: peak RSS under ${TARGETS.streamPeakRssMB} MB`,
      figure: `${f.maxRssMB} MB`,
      met: f.maxRssMB < TARGETS.streamPeakRssMB,
    });
  }
  return out;
}

// ---- main ----

const scenarios: ScenarioFigures[] = [];
const streams: StreamFigures[] = [];
const started = new Date();
if (!ONLY_STREAM) for (const latency of LATENCIES) scenarios.push(await runScenario(latency));
if (!SKIP_STREAM) for (const latency of STREAM_LATENCIES) streams.push(await runStream(latency));

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
