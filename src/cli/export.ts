/**
 * `imednet export`: one study, several, or every study the keys can see, through the record mapper
 * into a sink (files, PostgreSQL), with progress, resumable. Files go into `--out DIR` (a folder per
 * study when there are several), one per form named after the form key, with the export's manifest
 * beside them. An interrupted export is continued with `--resume`; a finished one is replaced with
 * `--restart`; without either the command refuses to touch an earlier export.
 */
import { join } from 'node:path';
import { Imednet } from '../client.js';
import type { ImednetOptions } from '../core/config.js';
import { AbortError, ConfigurationError } from '../core/errors.js';
import { runPerStudy } from '../plugins/orchestration/index.js';
import type { ExportSink, ExportSummary, OutputDirectory } from '../plugins/sinks/index.js';
import { exportStudy } from '../plugins/sinks/index.js';
import { readBound } from '../plugins/workflows/dates.js';
import { type RowsOptions, type Workflows, workflows } from '../plugins/workflows/index.js';
import { resolveS3Settings } from './credentials.js';
import { createDisplay, type DisplayStreams, type ProgressMode } from './progress.js';

/** The destinations `--to` names. */
export const EXPORT_FORMATS = [
  'csv',
  'ndjson',
  'json',
  'parquet',
  'xlsx',
  'duckdb',
  'postgres',
  's3',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The formats written as files, into a folder or an S3 prefix. */
const FILE_FORMATS: readonly ExportFormat[] = ['csv', 'ndjson', 'json', 'parquet', 'xlsx'];

/** `s3://bucket/prefix` read, or undefined for anything else. */
export function readS3Url(out: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(out);
  if (!match) return undefined;
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, '') };
}

/** What the export command was asked, every flag already read. */
export interface ExportCommand {
  /** Study keys named on the command line. */
  studies: string[];
  /** Every study the keys can see (less `exclude`). */
  allStudies: boolean;
  exclude: string[];
  /** The format (`s3` is read as `parquet` into an S3 prefix). */
  to: Exclude<ExportFormat, 's3'>;
  /** A folder or `s3://bucket/prefix` (file formats), a file (duckdb) or a connection string (postgres). */
  out: string;
  /** `--s3-endpoint`: an S3-compatible store's URL (else AWS_ENDPOINT_URL_S3, or AWS by region). */
  s3Endpoint?: string;
  forms?: string[];
  variables?: string[];
  labels: boolean;
  layout: 'per-form' | 'long';
  /** Records modified at or after this time. */
  since?: string;
  hive: boolean;
  batchSize?: number;
  formulaGuard: boolean;
  resume: boolean;
  restart: boolean;
  progress: ProgressMode;
  /** Studies exported at once (default 1). */
  concurrency: number;
}

/** What the export did: each study's summary or error. */
export interface ExportOutcome {
  studies: Array<{ studyKey: string; target: string; summary?: ExportSummary; error?: unknown }>;
}

/** Reads and checks the export flags; every mistake is found before a key is asked for. */
export function readExportCommand(
  positionals: string[],
  values: Record<string, string | boolean | string[] | undefined>,
  progress: ProgressMode,
): ExportCommand {
  const text = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const list = (name: string) =>
    text(name)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const usage = `Usage: imednet export <studyKey...> | --all-studies --to ${EXPORT_FORMATS.join('|')} --out DIR|FILE|URL`;
  const allStudies = values['all-studies'] === true;
  if (allStudies && positionals.length > 0) {
    throw new ConfigurationError(`Name studies or pass --all-studies, not both. ${usage}`);
  }
  if (!allStudies && positionals.length === 0) throw new ConfigurationError(`Name a study. ${usage}`);
  const to = text('to');
  if (!to) throw new ConfigurationError(`Say where to: --to ${EXPORT_FORMATS.join('|')}. ${usage}`);
  const named = EXPORT_FORMATS.find((f) => f === to);
  if (!named) throw new ConfigurationError(`Unknown --to ${to}; one of: ${EXPORT_FORMATS.join(', ')}`);
  const out = text('out');
  if (!out) {
    throw new ConfigurationError(
      named === 'postgres'
        ? 'Say which database: --out postgres://user:password@host:5432/database (or --out "$DATABASE_URL")'
        : named === 'duckdb'
          ? 'Say which database file: --out FILE.duckdb'
          : named === 's3'
            ? 'Say which bucket: --out s3://bucket/prefix'
            : `Say where the files go: --out DIR (or --out s3://bucket/prefix)`,
    );
  }
  const s3 = readS3Url(out);
  if (named === 's3' && !s3) {
    throw new ConfigurationError('--to s3 takes a bucket: --out s3://bucket/prefix (it writes Parquet)');
  }
  const format = named === 's3' ? 'parquet' : named;
  if (format === 'postgres' && !/^postgres(ql)?:\/\//.test(out)) {
    throw new ConfigurationError('--to postgres takes a connection string: --out postgres://host/database');
  }
  if (format === 'duckdb' && /^[a-z][a-z0-9+.-]*:\/\//i.test(out)) {
    throw new ConfigurationError('--to duckdb takes a file on this machine: --out FILE.duckdb');
  }
  const s3Endpoint = text('s3-endpoint');
  if (s3Endpoint !== undefined && !s3) {
    throw new ConfigurationError('--s3-endpoint goes with an S3 destination: --out s3://bucket/prefix');
  }
  if (s3 && !FILE_FORMATS.includes(format)) {
    throw new ConfigurationError(
      `--to ${format} does not write to S3; the file formats do: ${FILE_FORMATS.join(', ')}`,
    );
  }
  const layout = text('layout') ?? 'per-form';
  if (layout !== 'per-form' && layout !== 'long') {
    throw new ConfigurationError(`Unknown --layout ${layout}; one of: per-form, long`);
  }
  const since = text('since');
  if (since !== undefined) readBound(since, 'from', '--since');
  const batch = text('batch-size');
  const batchSize = batch === undefined ? undefined : Number(batch);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw new ConfigurationError('--batch-size must be a whole number of at least 1');
  }
  if (values.hive === true && format !== 'parquet') {
    throw new ConfigurationError('--hive is a Parquet layout: use it with --to parquet');
  }
  const concurrencyText = text('concurrency');
  const concurrency = concurrencyText === undefined ? 1 : Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) {
    throw new ConfigurationError('--concurrency must be a whole number from 1 to 16');
  }
  if (concurrency > 1 && format === 'duckdb') {
    throw new ConfigurationError(
      '--to duckdb writes one file, which one export at a time can hold: leave out --concurrency',
    );
  }
  if (values.resume === true && values.restart === true) {
    throw new ConfigurationError('Pass --resume or --restart, not both');
  }
  const command: ExportCommand = {
    studies: [...new Set(positionals)],
    allStudies,
    exclude: list('exclude') ?? [],
    to: format,
    out,
    labels: values.labels === true,
    layout,
    hive: values.hive === true,
    formulaGuard: values['no-formula-guard'] !== true,
    resume: values.resume === true,
    restart: values.restart === true,
    progress,
    concurrency,
  };
  if (s3Endpoint !== undefined) command.s3Endpoint = s3Endpoint;
  const forms = list('forms');
  const variables = list('variables');
  if (forms) command.forms = forms;
  if (variables) command.variables = variables;
  if (since !== undefined) command.since = since;
  if (batchSize !== undefined) command.batchSize = batchSize;
  return command;
}

/** A connection string without its user and password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(a connection string)';
  }
}

/** The sink for one study, and a name for where it writes. */
async function sinkFor(
  command: ExportCommand,
  studyKey: string,
  perStudyFolder: boolean,
): Promise<{ sink: ExportSink; target: string; cleanup?: () => Promise<void> }> {
  // Databases: a schema per study when there are several (their forms may differ).
  const schema = perStudyFolder ? { schema: studyKey } : {};
  if (command.to === 'postgres') {
    const { postgresSink } = await import('../plugins/sinks/postgres.js');
    return { sink: postgresSink({ url: command.out, studyKey, ...schema }), target: redactUrl(command.out) };
  }
  if (command.to === 'duckdb') {
    const { duckdbSink } = await import('../plugins/sinks/duckdb.js');
    return { sink: duckdbSink({ path: command.out, studyKey, ...schema }), target: command.out };
  }
  let directory: OutputDirectory;
  let folder: string;
  const s3 = readS3Url(command.out);
  if (s3) {
    const { s3Directory } = await import('../plugins/sinks/s3.js');
    const prefix = perStudyFolder ? [s3.prefix, studyKey].filter(Boolean).join('/') : s3.prefix;
    directory = s3Directory({
      ...resolveS3Settings(command.s3Endpoint),
      bucket: s3.bucket,
      ...(prefix ? { prefix } : {}),
    });
    folder = `s3://${s3.bucket}/${prefix}`;
  } else {
    folder = perStudyFolder ? join(command.out, studyKey) : command.out;
    const { nodeDirectory } = await import('../plugins/sinks/node.js');
    directory = nodeDirectory(folder);
  }
  switch (command.to) {
    case 'xlsx': {
      const { xlsxSink } = await import('../plugins/sinks/xlsx.js');
      if (!s3) return { sink: xlsxSink({ directory }), target: folder };
      // A bucket cannot hold the sheets while they are written: they wait in a local folder.
      const { mkdtemp, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { nodeDirectory } = await import('../plugins/sinks/node.js');
      const local = await mkdtemp(join(tmpdir(), 'imednet-xlsx-'));
      return {
        sink: xlsxSink({ directory, scratch: nodeDirectory(local) }),
        target: folder,
        cleanup: () => rm(local, { recursive: true, force: true }),
      };
    }
    case 'csv': {
      const { csvSink } = await import('../plugins/sinks/csv.js');
      return { sink: csvSink({ directory, formulaGuard: command.formulaGuard }), target: folder };
    }
    case 'ndjson': {
      const { ndjsonSink } = await import('../plugins/sinks/json.js');
      return { sink: ndjsonSink({ directory }), target: folder };
    }
    case 'json': {
      const { jsonSink } = await import('../plugins/sinks/json.js');
      return { sink: jsonSink({ directory }), target: folder };
    }
    case 'parquet': {
      const { parquetSink } = await import('../plugins/sinks/parquet.js');
      return {
        sink: parquetSink({ directory, layout: command.hive ? 'hive' : 'file-per-table' }),
        target: folder,
      };
    }
  }
}

/** The mapper's and listing's options the flags ask for. */
function rowsOptions(command: ExportCommand, signal: AbortSignal): RowsOptions {
  const options: RowsOptions = {
    signal,
    layout: command.layout === 'long' ? 'long' : 'wide',
    header: command.labels ? 'label' : 'name',
  };
  if (command.forms) options.forms = command.forms;
  if (command.variables) options.variables = command.variables;
  if (command.batchSize) options.batchSize = command.batchSize;
  if (command.since) options.criteria = { dateModified: { from: command.since } };
  return options;
}

/**
 * Runs the export: studies one after another, each to its own sink; a study that fails is reported
 * and the others go on. Resolves to each study's outcome.
 */
export async function runExport(
  clientOptions: ImednetOptions,
  command: ExportCommand,
  signal: AbortSignal,
  streams: DisplayStreams,
): Promise<ExportOutcome> {
  const client = new (Imednet.plugin(workflows()))(clientOptions);
  let studyKeys = command.studies;
  if (command.allStudies) {
    studyKeys = [];
    for await (const study of client.studies.list({ signal })) studyKeys.push(study.studyKey);
  }
  const excluded = new Set(command.exclude);
  studyKeys = studyKeys.filter((key) => !excluded.has(key));
  if (studyKeys.length === 0) throw new ConfigurationError('No study to export (every one was excluded)');
  const perStudyFolder = command.allStudies || studyKeys.length > 1;
  const display = createDisplay(command.progress, streams);
  const outcome: ExportOutcome = { studies: [] };
  const targets = new Map<string, string>();
  try {
    // `--concurrency` studies at a time; each study's failure is its own (the sinks already retry
    // their writes and the client its requests, so a study is not run again here).
    const results = await runPerStudy(
      async (studyKey, { signal: studySignal }) => {
        const { sink, target, cleanup } = await sinkFor(command, studyKey, perStudyFolder);
        targets.set(studyKey, target);
        try {
          return await exportOne(client, command, studyKey, sink, target, studySignal, display);
        } catch (error) {
          if (!signal.aborted && studyKeys.length > 1) display.failed(studyKey, describeError(error));
          throw error;
        } finally {
          await cleanup?.();
        }
      },
      { studies: studyKeys, concurrency: command.concurrency, retries: 0, signal },
    );
    for (const result of results) {
      // An abort is the user's: it ends the whole run, not one study.
      if (signal.aborted) throw new AbortError('The export was stopped');
      const entry: ExportOutcome['studies'][number] = {
        studyKey: result.studyKey,
        target: targets.get(result.studyKey) ?? '',
      };
      if (result.status === 'fulfilled') entry.summary = result.value!;
      else {
        // With one study there is nothing else to go on with: its error is the command's.
        if (studyKeys.length === 1) throw result.error;
        entry.error = result.error;
      }
      outcome.studies.push(entry);
    }
  } finally {
    display.stop();
  }
  return outcome;
}

/** One line for an error, with nothing secret in it (SDK errors carry none). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

async function exportOne(
  client: Imednet & { workflows: Workflows },
  command: ExportCommand,
  studyKey: string,
  sink: ExportSink,
  target: string,
  signal: AbortSignal,
  display: ReturnType<typeof createDisplay>,
): Promise<ExportSummary> {
  const previous = await sink.manifest.load(studyKey);
  if (previous && !command.restart) {
    if (previous.completedAt === undefined && !command.resume) {
      throw new ConfigurationError(
        `${target} holds an interrupted export of ${studyKey} (${previous.batches.length} batches written): pass --resume to continue it or --restart to start again`,
      );
    }
    if (previous.completedAt !== undefined && !command.resume) {
      throw new ConfigurationError(
        `${target} already holds a finished export of ${studyKey} (completed ${previous.completedAt}): pass --restart to export it again (the forms it exports are written anew; other files are left as they are), or export into another folder`,
      );
    }
  }
  const options = rowsOptions(command, signal);
  const tables = await client.workflows.tables(studyKey, options);
  // Records per form, one small request each, for the bars' totals (wide layout only: in the long
  // layout a row is a value, not a record).
  const totals =
    command.layout === 'per-form'
      ? await Promise.all(
          tables.map(async (table) => {
            const criteria = { ...options.criteria, form: table.formKey ?? table.name };
            const { records } = await client.workflows.records(studyKey, criteria, { signal }).count();
            return records;
          }),
        )
      : tables.map(() => undefined);
  display.start(
    studyKey,
    tables.map((t, i) => ({ name: t.name, total: totals[i] })),
    target,
  );
  const summary = await exportStudy(client, studyKey, sink, {
    ...options,
    restart: command.restart,
    onProgress: (progress) => display.progress(studyKey, progress),
  });
  display.done(studyKey, summary, target);
  return summary;
}
