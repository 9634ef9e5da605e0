/**
 * The `imednet` command. Credentials come from the flags, then IMEDNET_API_KEY,
 * IMEDNET_SECURITY_KEY and IMEDNET_BASE_URL in the environment, then the same names in `.env`.
 */
import { parseArgs } from 'node:util';
import { Imednet } from '../client.js';
import type { ImednetOptions } from '../core/config.js';
import { ConfigurationError } from '../core/errors.js';
import type { RequestBudget } from '../core/pacer.js';
import { STREAMS } from '../plugins/sync/keys.js';
import { type CredentialFlags, resolveCredentials } from './credentials.js';
import { LIST_FORMATS, type ListFormat, listingOf, listToStream, RESOURCES } from './list.js';
import { EXIT, runAsProcess } from './process.js';
import { announceRetryWaits } from './waiting.js';

const STREAM_LIST = STREAMS.join(',');

const HELP = `imednet: the iMednet EDC API from the command line

Usage:
  imednet demo [--records N] [--latency MS] [--out DIR]   run against the built-in fake study (no credentials)
  imednet help                                             this text (as is --help after any command)
  imednet export <studyKey...> | --all-studies --to FORMAT --out DIR|URL [options]
                                                           export studies through the record mapper:
                                                           a file per form (AE.csv, AE.parquet, ...)
                                                           and a manifest, an Excel workbook, or tables
                                                           in DuckDB or PostgreSQL
  imednet studies [options]                                list studies
  imednet <resource> <studyKey> [options]                  list a resource of a study (--format)
  imednet jobs status <studyKey> <batchId>                 show a job
  imednet jobs wait <studyKey> <batchId> [--interval MS] [--timeout MS]
  imednet sync <studyKey> [--db FILE] [--streams LIST] [--every SECONDS]
                                                           keep the study in a local SQLite file: all of
                                                           it the first time, then only what changed
  imednet reconcile <studyKey> [--db FILE] [--max-share N] [--force]
                                                           repair the cache against one full listing
  imednet ledger <studyKey> [--db FILE] [--stream S] [--rewind TIMESTAMP | --reset]
                                                           show the sync ledger; move a watermark back,
                                                           or reset a stream (next sync is full)

Resources: ${Object.keys(RESOURCES).join(', ')}

Options:
  --filter EXPR               API filter, e.g. 'siteId==3;deleted==false'
  --record-data-filter EXPR   filter on record values (records only)
  --sort FIELD[,asc|desc]     may repeat
  --page-size N               1..500 (default 500)
  --limit N                   stop after N items
  --include-inactive          users: include inactive users
  --format FORMAT             a listing as table (the default on a terminal), ndjson (the default
                              when piped), json or csv (nested values as JSON)
  --db FILE                   sync: the SQLite file (default <studyKey>.imednet.db); needs
                              better-sqlite3 (Node) or a runtime with SQLite built in (Node 22.5+, Bun, Deno)
  --streams LIST              sync: some of ${STREAM_LIST} (default all)
  --every SECONDS             sync: run again every SECONDS until Ctrl-C
  --stream S                  ledger: the stream to rewind or reset (default records)
  --rewind TIMESTAMP          ledger: e.g. '2025-01-31 00:00:00'; never moves a watermark forward
  --reset                     ledger: forget the stream's entry; cached data stays until the next sync
  --max-share N               reconcile: largest share of the cache it may delete (default 0.05)
  --force                     reconcile: delete even from an empty listing or beyond --max-share
Export options:
  --to FORMAT                 files: csv, ndjson, json, parquet, xlsx (one workbook, a sheet per
                              form); databases: duckdb, postgres; s3 (Parquet into a bucket)
  --out DIR|FILE|URL          files: a folder, or s3://bucket/prefix (a folder or prefix per study
                              when there are several); duckdb: FILE.duckdb; postgres: a connection
                              string postgres://user:password@host:5432/db (never printed); a
                              database gets a schema per study when there are several
  --s3-endpoint URL           an S3-compatible store (MinIO, R2, ...) instead of AWS S3
  --all-studies               every study the keys can see; --exclude A,B leaves some out
  --forms A,B                 only these forms; --variables X,Y only these variables
  --labels                    column headers from variable labels instead of names
  --layout per-form|long      a table per form (default), or one long table of values
  --since TIMESTAMP           only records modified at or after it, e.g. 2025-01-31T00:00:00Z
  --hive                      parquet: study=<key>/form=<form>/part-N.parquet
  --batch-size N              rows per batch (default 1,000)
  --no-formula-guard          csv: leave text starting with = + - @ as it is (the guard is on by
                              default: such text gets a leading ' so spreadsheets do not run it)
  --concurrency N             studies exported at once (default 1; not with duckdb); one study's
                              failure never stops the others
  --resume                    continue an interrupted export from its manifest (exactly once)
  --restart                   export again over an earlier export (other forms' files stay)
  --quiet, -q                 no progress; --json: progress and results as NDJSON events on stdout

  --per-minute N, --per-hour N
                              send at most N requests a minute / an hour (the API states 100 and
                              1,000); progress then gives the time left at that pace

Credentials: --api-key, --security-key, --base-url; else the environment's IMEDNET_API_KEY,
  IMEDNET_SECURITY_KEY, IMEDNET_BASE_URL; else those names in a .env file in this folder.
  Prefer the environment or .env: other users of the machine can read a command's flags.

S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), AWS_REGION and
  AWS_ENDPOINT_URL_S3 from the environment or the .env file.

Exit codes: 0 done; 1 other failure; 2 bad command line or settings; 3 keys refused or no
  permission; 4 not found; 5 rate limited after retries; 6 iMednet or the destination unreachable,
  or timed out; 7 output not writable; 8 some studies failed (export); 9 the job failed and
  10 it did not finish in time (jobs wait); 130 Ctrl-C; 143 SIGTERM`;

/** The command-line flags of the request budget. */
type BudgetFlags = { 'per-minute'?: string | undefined; 'per-hour'?: string | undefined };

/** The client's options: keys and host from the flags, the environment or .env; the budget from the flags. */
function clientOptions(values: BudgetFlags & CredentialFlags): ImednetOptions {
  const options: ImednetOptions = { ...resolveCredentials(values) };
  const budget = budgetFrom(values);
  if (budget) options.requestBudget = budget;
  if (process.stderr.isTTY) options.logger = announceRetryWaits((line) => process.stderr.write(`${line}\n`));
  return options;
}

/** The request budget of `--per-minute` / `--per-hour`, or undefined when neither is given. */
function budgetFrom(values: BudgetFlags): RequestBudget | undefined {
  const perMinute = int(values['per-minute'], 'per-minute');
  const perHour = int(values['per-hour'], 'per-hour');
  if (!perMinute && !perHour) return undefined;
  const budget: RequestBudget = {};
  if (perMinute) budget.perMinute = perMinute;
  if (perHour) budget.perHour = perHour;
  return budget;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigurationError(`--${name} must be a whole number`);
  return n;
}

/**
 * The `--format` value, refused with the supported ones named when it is not one of them; without
 * one, a table on a terminal and NDJSON anywhere else (a pipe, a file).
 */
function format(value: string | undefined): ListFormat {
  if (value === undefined) return process.stdout.isTTY ? 'table' : 'ndjson';
  const known = LIST_FORMATS.find((f) => f === value);
  if (!known) throw new ConfigurationError(`Unknown --format ${value}; formats: ${LIST_FORMATS.join(', ')}`);
  return known;
}

/**
 * Runs the CLI with `argv` (without node and script); resolves to the exit code. `signal` stops
 * the work (the entry aborts it on Ctrl-C, SIGTERM or a closed stdout).
 */
export async function main(
  argv: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      filter: { type: 'string' },
      'record-data-filter': { type: 'string' },
      sort: { type: 'string', multiple: true },
      'page-size': { type: 'string' },
      limit: { type: 'string' },
      'include-inactive': { type: 'boolean' },
      format: { type: 'string' },
      records: { type: 'string' },
      latency: { type: 'string' },
      out: { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
      db: { type: 'string' },
      streams: { type: 'string' },
      every: { type: 'string' },
      stream: { type: 'string' },
      rewind: { type: 'string' },
      reset: { type: 'boolean' },
      force: { type: 'boolean' },
      'max-share': { type: 'string' },
      'per-minute': { type: 'string' },
      'per-hour': { type: 'string' },
      'api-key': { type: 'string' },
      'security-key': { type: 'string' },
      'base-url': { type: 'string' },
      'all-studies': { type: 'boolean' },
      exclude: { type: 'string' },
      to: { type: 'string' },
      's3-endpoint': { type: 'string' },
      concurrency: { type: 'string' },
      forms: { type: 'string' },
      variables: { type: 'string' },
      labels: { type: 'boolean' },
      layout: { type: 'string' },
      since: { type: 'string' },
      hive: { type: 'boolean' },
      'batch-size': { type: 'string' },
      'no-formula-guard': { type: 'boolean' },
      resume: { type: 'boolean' },
      restart: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  // Help comes before anything else, keys included: it must work on a machine with none set.
  if (values.help || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!command) {
    process.stderr.write(`${HELP}\n`);
    return 1;
  }
  const listFormat = format(values.format);
  // Every flag and word is checked before the keys are asked for: a typo is the first thing to hear.
  const options = () => clientOptions(values);
  budgetFrom(values);

  if (command === 'export') {
    const { readExportCommand, runExport } = await import('./export.js');
    if (values.quiet && values.json) throw new ConfigurationError('Pass --quiet or --json, not both');
    const progress = values.json ? 'json' : values.quiet ? 'quiet' : process.stderr.isTTY ? 'bars' : 'lines';
    const exportCommand = readExportCommand(rest, values, progress);
    const outcome = await runExport(options(), exportCommand, signal, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      ...(process.stderr.isTTY ? { terminal: process.stderr } : {}),
    });
    return outcome.studies.some((s) => s.error !== undefined) ? EXIT.PARTIAL : 0;
  }

  if (command === 'demo') {
    const { runDemo } = await import('./demo.js');
    const demoOptions: Parameters<typeof runDemo>[0] = { signal };
    const records = int(values.records, 'records');
    const latency = int(values.latency, 'latency');
    if (records !== undefined) demoOptions.records = records;
    if (latency !== undefined) demoOptions.latencyMs = latency;
    if (values.out) demoOptions.outDir = values.out;
    await runDemo(demoOptions);
    return 0;
  }

  // The study and SQLite file the sync, ledger and reconcile commands work on.
  const cacheTarget = (usage: string) => {
    const [studyKey] = rest;
    if (!studyKey) throw new ConfigurationError(`Usage: imednet ${command} <studyKey> ${usage}`);
    return { studyKey, db: values.db ?? `${studyKey}.imednet.db`, signal };
  };

  if (command === 'ledger') {
    const { runLedger } = await import('./sync.js');
    const ledgerOptions: Parameters<typeof runLedger>[0] = cacheTarget(
      '[--db FILE] [--stream S] [--rewind TIMESTAMP | --reset]',
    );
    if (values.stream) ledgerOptions.stream = values.stream;
    if (values.rewind !== undefined) ledgerOptions.rewind = values.rewind;
    if (values.reset) ledgerOptions.reset = true;
    await runLedger(ledgerOptions);
    return 0;
  }

  if (command === 'reconcile') {
    const { runReconcile } = await import('./sync.js');
    const reconcileOptions: Parameters<typeof runReconcile>[1] = cacheTarget(
      '[--db FILE] [--max-share N] [--force]',
    );
    if (values.force) reconcileOptions.force = true;
    if (values['max-share'] !== undefined) reconcileOptions.maxShare = Number(values['max-share']);
    await runReconcile(options(), reconcileOptions);
    return 0;
  }

  if (command === 'sync') {
    const { runSync } = await import('./sync.js');
    const syncOptions: Parameters<typeof runSync>[1] = cacheTarget(
      '[--db FILE] [--streams a,b] [--every SECONDS]',
    );
    if (values.streams) syncOptions.streams = values.streams.split(',').map((s) => s.trim());
    if (values.every !== undefined) syncOptions.everySeconds = Number(values.every);
    await runSync(options(), syncOptions);
    return 0;
  }

  if (command !== 'jobs' && command !== 'studies') listingOf(command, rest[0]);
  const client = new Imednet(options());
  if (command === 'jobs') {
    const [action, studyKey, batchId] = rest;
    if (!studyKey || !batchId || (action !== 'status' && action !== 'wait')) {
      throw new ConfigurationError('Usage: imednet jobs status|wait <studyKey> <batchId>');
    }
    const job =
      action === 'status'
        ? await client.jobs.get(studyKey, batchId, { signal })
        : await client.jobs.wait(studyKey, batchId, {
            interval: int(values.interval, 'interval') ?? 1000,
            timeout: int(values.timeout, 'timeout') ?? 300_000,
            signal,
            onProgress: (j) => process.stderr.write(`job ${batchId}: ${j.state ?? '(no state)'}\n`),
          });
    process.stdout.write(`${JSON.stringify(job)}\n`);
    return 0;
  }

  const listOptions: Parameters<typeof listToStream>[3] = { format: listFormat };
  if (values.filter) listOptions.filter = values.filter;
  if (values['record-data-filter']) listOptions.recordDataFilter = values['record-data-filter'];
  if (values.sort) listOptions.sort = values.sort;
  const pageSize = int(values['page-size'], 'page-size');
  const limit = int(values.limit, 'limit');
  if (pageSize !== undefined) listOptions.pageSize = pageSize;
  if (limit !== undefined) listOptions.limit = limit;
  if (values['include-inactive']) listOptions.includeInactive = true;
  const n = await listToStream(client, command, rest[0], listOptions, process.stdout, signal);
  process.stderr.write(`${n} ${command} written\n`);
  return 0;
}

const isEntry =
  typeof process !== 'undefined' &&
  process.argv[1] !== undefined &&
  /cli[\\/]index\.[cm]?[jt]s$/.test(process.argv[1]);
if (isEntry || (process.argv[1] ?? '').endsWith('imednet')) {
  runAsProcess((signal) => main(process.argv.slice(2), signal));
}
