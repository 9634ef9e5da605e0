/**
 * The mock API of the sync benchmarks, in a process of its own so its CPU is not the client's:
 * `tsx bench/sync-server.ts --records N --latency MS` prints `{"url": ...}`, then answers
 * `mutate <watermark>` (1% of the records changed and 0.1% deleted, an hour later) and `digest`
 * (live records and a SHA-256 over them) on stdin, one JSON line each. `startServer` runs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createFakeStudy,
  createRandom,
  type FakeStudy,
  parseTimestamp,
  startMockServer,
} from '../src/testing/index.js';
import { canonical } from '../tests/support/canonical.js';
import { numberOption } from './args.js';

export { canonical };

/** The benchmark study's key. */
export const STUDY_KEY = 'SYNCBENCH';
const SELF = fileURLToPath(import.meta.url);

/** Serves the study; answers `mutate <watermark>` and `digest` commands on stdin, one JSON line each. */
async function serve(records: number, latencyMs: number): Promise<void> {
  const study = createFakeStudy({
    studyKey: STUDY_KEY,
    records,
    subjects: Math.max(20, Math.round(records / 40)),
    sites: 8,
    seed: 2026,
  });
  const server = await startMockServer({ study, faults: { latencyMs } });
  const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  say({ url: server.url });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...rest] = line.trim().split(' ');
    if (command === 'mutate') say(mutate(study, rest.join(' ')));
    else if (command === 'digest') say(digest(study));
    else if (command === 'quit') break;
  }
  await server.close();
  process.exit(0);
}

/** 1% of the records changed, 0.1% deleted (half soft, half hard), an hour after the last change. */
function mutate(study: FakeStudy, watermark: string) {
  study.setNow(parseTimestamp(study.now()) + 3_600_000);
  const r = createRandom(4242);
  const ids: number[] = [];
  for (const header of study.records.headers()) if (header.deleted !== true) ids.push(header.recordId);
  const pick = () => {
    const i = r.int(0, ids.length - 1);
    const id = ids[i] as number;
    ids[i] = ids[ids.length - 1] as number;
    ids.pop();
    return id;
  };
  const total = study.records.length;
  const changed = Math.round(total * 0.01);
  const deleted = Math.round(total * 0.001);
  for (let i = 0; i < changed; i++) {
    study.updateRecord(pick(), { recordStatus: 'Record Verified', recordData: { BENCH: String(i) } });
  }
  for (let i = 0; i < deleted; i++) study.deleteRecord(pick(), { hard: i % 2 === 1 });
  // What an incremental sync from `watermark` has to read: the `>=` boundary second included.
  let records = 0;
  for (const header of study.records.headers()) if ((header.dateModified ?? '') >= watermark) records++;
  let revisions = 0;
  for (const revision of study.recordRevisions) if (revision.dateCreated >= watermark) revisions++;
  return { changed, deleted, records, revisions };
}

function digest(study: FakeStudy) {
  const hash = createHash('sha256');
  let live = 0;
  for (const record of study.records) {
    if (record.deleted === true) continue;
    hash.update(canonical(record));
    hash.update('\n');
    live++;
  }
  return { live, sha256: hash.digest('hex') };
}

/** A running benchmark server. */
export interface Server {
  url: string;
  pid: number;
  ask<T>(command: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts the server process for a study of `records` records answering after `latencyMs`. */
export async function startServer(records: number, latencyMs: number): Promise<Server> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', SELF, '--records', String(records), '--latency', String(latencyMs)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: Interface = createInterface({ input: child.stdout! });
  const queue: ((line: string) => void)[] = [];
  lines.on('line', (line) => queue.shift()?.(line));
  const next = () => new Promise<string>((resolve) => queue.push(resolve));
  const first = JSON.parse(await next()) as { url: string };
  return {
    url: first.url,
    pid: child.pid!,
    async ask<T>(command: string) {
      const answer = next();
      child.stdin!.write(`${command}\n`);
      return JSON.parse(await answer) as T;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.write('quit\n');
      }),
  };
}

if (process.argv[1] === SELF) {
  await serve(numberOption('records', 100_000), numberOption('latency', 0));
}
