/**
 * Pieces shared by the extraction benchmarks: the mock server in a child process, the three
 * clients under comparison, and small statistics helpers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Imednet, type ImednetOptions } from '../src/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const PAGE_SIZE = 500;
export const CONCURRENCY = 8;

const HEADERS = {
  accept: 'application/json',
  'x-api-key': DEFAULT_API_KEY,
  'x-imn-security-key': DEFAULT_SECURITY_KEY,
};

/** A mock server running in its own process. */
export interface ServerProcess {
  url: string;
  studyKey: string;
  pid: number;
  stop(): Promise<void>;
}

/** How the benchmark's mock server behaves (see bench/server.ts). */
export interface ServerSettings {
  records: number;
  latencyMs: number;
  /** Each answer waits latencyMs ± jitterMs (uniform). */
  jitterMs?: number;
  /** Records pages rendered before listening and served as stored bytes. */
  prepared?: boolean;
  /** At most this many requests handled at once; 429 with `Retry-After: retryAfterSeconds` beyond. */
  maxInFlight?: number;
  retryAfterSeconds?: number;
}

/** What the server counted since the last reset (GET /__stats). */
export interface ServerStats {
  requests: number;
  rateLimited: number;
  maxInFlight: number;
}

/** Starts `bench/server.ts` in a child Node process and waits for the URL it prints. */
export async function startServerProcess(
  settings: ServerSettings,
): Promise<ServerProcess & { stats(reset?: boolean): Promise<ServerStats> }> {
  const args = ['--records', String(settings.records), '--latency', String(settings.latencyMs)];
  if (settings.jitterMs) args.push('--jitter', String(settings.jitterMs));
  if (settings.prepared) args.push('--prepared');
  if (settings.maxInFlight !== undefined) args.push('--max-in-flight', String(settings.maxInFlight));
  if (settings.retryAfterSeconds !== undefined)
    args.push('--retry-after', String(settings.retryAfterSeconds));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', `${BENCH_DIR}server.ts`, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`mock server exited early (code ${code})`)));
    lines.once('line', resolve);
  });
  const info = JSON.parse(first) as { url: string; studyKey: string };
  return {
    url: info.url,
    studyKey: info.studyKey,
    pid: child.pid!,
    stats: async (reset = false) =>
      (await (await fetch(`${info.url}/__stats${reset ? '?reset' : ''}`)).json()) as ServerStats,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** What one pull of a whole listing returned. */
export interface PullResult {
  records: number;
  pages: number;
}

/** Client options a benchmark may set (the rest are the defaults). */
export type SdkSettings = Omit<ImednetOptions, 'apiKey' | 'securityKey' | 'baseUrl'>;

/**
 * (a) The SDK as a user writes it: `records.list` item by item; validation on and default
 * concurrency unless `settings` say otherwise.
 */
export async function pullWithSdk(
  url: string,
  studyKey: string,
  settings: SdkSettings = {},
): Promise<PullResult> {
  const client = new Imednet({
    ...settings,
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    baseUrl: url,
  });
  let records = 0;
  for await (const record of client.records.list(studyKey, { pageSize: PAGE_SIZE })) {
    if (record.recordId != null) records++;
  }
  return { records, pages: Math.ceil(records / PAGE_SIZE) };
}

interface RawPage {
  pagination: { totalPages: number; totalElements: number };
  data: unknown[];
}

async function fetchPage(url: string, studyKey: string, page: number): Promise<RawPage> {
  const response = await fetch(
    `${url}/api/v1/edc/studies/${studyKey}/records?page=${page}&size=${PAGE_SIZE}`,
    { headers: HEADERS },
  );
  if (!response.ok) throw new Error(`page ${page}: HTTP ${response.status}`);
  return (await response.json()) as RawPage;
}

/** (b) What the Python SDK does: page 0, then 1, 2, ... one after another. */
export async function pullSequential(url: string, studyKey: string): Promise<PullResult> {
  let records = 0;
  let pages = 0;
  let totalPages = 1;
  for (let page = 0; page < totalPages; page++) {
    const body = await fetchPage(url, studyKey, page);
    totalPages = body.pagination.totalPages;
    records += body.data.length;
    pages++;
  }
  return { records, pages };
}

/**
 * (c) The floor, what a careful user writes with no SDK: page 0, then the remaining pages with
 * exactly `concurrency` requests in flight at every moment (a new one starts as soon as any
 * finishes, whatever its page number), the body parsed as JSON, nothing else.
 */
export async function pullFloor(
  url: string,
  studyKey: string,
  concurrency = CONCURRENCY,
): Promise<PullResult> {
  const first = await fetchPage(url, studyKey, 0);
  const totalPages = first.pagination.totalPages;
  let records = first.data.length;
  let pages = 1;
  let next = 1;
  const worker = async () => {
    while (next < totalPages) {
      const body = await fetchPage(url, studyKey, next++);
      records += body.data.length;
      pages++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, totalPages) }, worker));
  return { records, pages };
}

// ---- CPU accounting (Linux /proc; elsewhere these figures are absent) ----

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux the project runs on

/** CPU seconds (user + system) used so far by process `pid`, all its threads. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has spent busy (not idle, not waiting on I/O), all cores. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...values] = line.trim().split(/\s+/);
    const n = values.slice(0, 8).map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    return (total - n[3]! - n[4]!) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the rest of the machine has used at most `maxCores` cores for two half-second
 * windows in a row (call it while the benchmark's own processes are idle), or `maxWaitMs` passed.
 * Resolves to the milliseconds waited, or undefined when the machine never quieted down.
 */
export async function waitForQuiet(maxCores: number, maxWaitMs: number): Promise<number | undefined> {
  const start = performance.now();
  let quiet = 0;
  while (performance.now() - start < maxWaitMs) {
    const busy0 = machineBusySeconds();
    if (busy0 === undefined) return 0;
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const cores = (machineBusySeconds()! - busy0) / ((performance.now() - t0) / 1000);
    quiet = cores <= maxCores ? quiet + 1 : 0;
    if (quiet >= 2) return Math.round(performance.now() - start);
  }
  return undefined;
}

/** One timed pull. */
export interface Sample {
  seconds: number;
  /** Client CPU (user + system) in seconds, this process only. */
  cpuSeconds: number;
  /** CPU seconds of the mock server process during the pull. */
  serverCpuSeconds?: number;
  /** Average number of cores busy with other work on the machine during the pull. */
  backgroundCores?: number;
  records: number;
}

/** Runs a pull, times it and checks that exactly `expected` records arrived. */
export async function timed(
  pull: () => Promise<PullResult>,
  expected: number,
  label: string,
  serverPid?: number,
): Promise<Sample> {
  const server0 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const busy0 = machineBusySeconds();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await pull();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy1 = machineBusySeconds();
  const server1 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  if (result.records !== expected) {
    throw new Error(`${label}: received ${result.records} records, expected exactly ${expected}`);
  }
  const sample: Sample = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, records: result.records };
  if (server0 !== undefined && server1 !== undefined) sample.serverCpuSeconds = server1 - server0;
  if (busy0 !== undefined && busy1 !== undefined) {
    const others = busy1 - busy0 - sample.cpuSeconds - (sample.serverCpuSeconds ?? 0);
    sample.backgroundCores = Math.max(0, others / seconds);
  }
  return sample;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return Math.min(...values);
}
