/**
 * The client side of bench/profile-study, run in a fresh process (bundled to plain JavaScript) so
 * that its peak RSS is its own (DuckDB-WASM's worker is a thread of this process: counted too).
 *
 * `--mode duckdb`: openStudyDatabase, db.loadStudy(client, study), then profileStudy(db).
 * `--mode parquet --dir D`: the same from the Parquet sink's files in D (db.loadParquet), no API.
 * `--mode export-parquet --dir D`: writes those files (the preparation, not measured).
 * `--mode rows`: only the pass over client.workflows.rows (fetch + mapper), nothing counted.
 * `--mode js`: a hand-written single-pass JavaScript profiler over the same mapper rows
 * (client.workflows.rows, batch by batch), computing the figures profileStudy computes: per form
 * records and deleted records; per field populated, distinct values, most frequent values, the
 * narrowest type the values fit, min/max/mean for numbers and min/max for dates; completeness per
 * form × site and form × interval.
 *
 * Prints one JSON line: timings, peak RSS, and per form its records and per field its populated
 * count (for the host's cross-check).
 *
 *   node bench/results/profile-client.mjs --url http://127.0.0.1:1234 --study BENCH --records 1000000 --mode js
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Imednet } from '../src/index.js';
import { openStudyDatabase, type ParquetFile, profileStudy } from '../src/plugins/duckdb/index.js';
import { exportStudy } from '../src/plugins/sinks/export.js';
import { nodeDirectory } from '../src/plugins/sinks/node.js';
import { parquetSink } from '../src/plugins/sinks/parquet.js';
import type { Column, ColumnType, Row, TableSpec } from '../src/plugins/workflows/index.js';
import { workflows } from '../src/plugins/workflows/index.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';
import { requiredOption } from './args.js';
import { PAGE_SIZE } from './lib.js';

const url = requiredOption('url');
const studyKey = requiredOption('study');
const expected = Number(requiredOption('records'));
const mode = requiredOption('mode');
const TOP_VALUES = 5;

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const Client = Imednet.plugin(workflows());
const client = new Client({ apiKey: DEFAULT_API_KEY, securityKey: DEFAULT_SECURITY_KEY, baseUrl: url });

/** What the host compares: per form records and deleted; per form.field populated. */
interface Check {
  forms: Record<string, { records: number; deleted: number }>;
  populated: Record<string, number>;
}

// ---- the hand-written JavaScript profiler -------------------------------------------------------

const TEXT_TYPES: ReadonlySet<ColumnType> = new Set(['text', 'choice', 'time']);
/** The same shapes, narrowest first, as profileStudy's (anchored: DuckDB's regexp_full_match). */
const SHAPES: readonly [ColumnType, RegExp][] = [
  ['integer', /^[+-]?[0-9]+$/],
  ['number', /^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$/],
  ['date', /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/],
  [
    'datetime',
    /^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$/,
  ],
  ['time', /^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$/],
];

interface FieldStats {
  column: Column;
  text: boolean;
  populated: number;
  /** Value (a Date by its time) → count. */
  counts: Map<unknown, number>;
  min: number | null;
  max: number | null;
  sum: number;
  whole: boolean;
  /** Shapes every populated text value so far fits. */
  shapes: boolean[];
}

interface Group {
  id: number | null;
  name: string | null;
  records: number;
  filled: number;
}

interface FormStats {
  spec: TableSpec;
  records: number;
  deleted: number;
  fields: FieldStats[];
  sites: Map<string, Group>;
  intervals: Map<string, Group>;
}

function newForm(spec: TableSpec): FormStats {
  return {
    spec,
    records: 0,
    deleted: 0,
    fields: spec.columns
      .filter((c) => c.kind === 'variable')
      .map((column) => ({
        column,
        text: TEXT_TYPES.has(column.type),
        populated: 0,
        counts: new Map(),
        min: null,
        max: null,
        sum: 0,
        whole: true,
        shapes: SHAPES.map(() => true),
      })),
    sites: new Map(),
    intervals: new Map(),
  };
}

function group(groups: Map<string, Group>, id: unknown, name: unknown): Group {
  const key = `${id ?? ''}\u0000${name ?? ''}`;
  let g = groups.get(key);
  if (!g) {
    g = { id: (id as number | null) ?? null, name: (name as string | null) ?? null, records: 0, filled: 0 };
    groups.set(key, g);
  }
  return g;
}

/** One pass over a batch of one form's rows. */
function addRows(form: FormStats, rows: readonly Row[]): void {
  const fields = form.fields;
  for (const row of rows) {
    if (row.deleted === true) {
      form.deleted++;
      continue;
    }
    form.records++;
    let filled = 0;
    for (const f of fields) {
      const v = row[f.column.name];
      if (v === null || v === undefined) continue;
      let key: unknown = v;
      if (typeof v === 'number') {
        if (f.min === null || v < f.min) f.min = v;
        if (f.max === null || v > f.max) f.max = v;
        f.sum += v;
        if (f.whole && v !== Math.floor(v)) f.whole = false;
      } else if (v instanceof Date) {
        const t = v.getTime();
        if (f.min === null || t < f.min) f.min = t;
        if (f.max === null || t > f.max) f.max = t;
        key = t;
      } else if (f.text && typeof v === 'string') {
        const trimmed = v.trim();
        if (trimmed === '') continue;
        const shapes = f.shapes;
        for (let s = 0; s < shapes.length; s++) {
          if (shapes[s] && !SHAPES[s]![1].test(trimmed)) shapes[s] = false;
        }
      }
      f.populated++;
      filled++;
      f.counts.set(key, (f.counts.get(key) ?? 0) + 1);
    }
    const site = group(form.sites, row.siteId, row.siteName);
    site.records++;
    site.filled += filled;
    const interval = group(form.intervals, row.intervalId, row.intervalName);
    interval.records++;
    interval.filled += filled;
  }
}

/** DuckDB's text of a value, as profileStudy's top values carry it. */
function asText(value: unknown, type: ColumnType): string {
  if (type === 'date' || type === 'datetime') {
    const iso = new Date(value as number).toISOString();
    return type === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  if (type === 'number' && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

/** The figures, in profileStudy's shape, from the counts. */
function finish(forms: Iterable<FormStats>) {
  const out = {
    forms: [] as unknown[],
    fields: [] as unknown[],
    sites: [] as unknown[],
    intervals: [] as unknown[],
  };
  for (const form of forms) {
    const key = form.spec.formKey ?? form.spec.name;
    const n = form.fields.length;
    const share = (filled: number, rows: number) => (n > 0 && rows > 0 ? filled / (rows * n) : null);
    let cells = 0;
    for (const f of form.fields) {
      cells += f.populated;
      const type = f.column.type;
      const numeric = type === 'integer' || type === 'number';
      const dated = type === 'date' || type === 'datetime';
      const top = [...f.counts]
        .map(([value, count]) => ({ value: asText(value, type), count }))
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
        .slice(0, TOP_VALUES);
      let inferred: ColumnType | null = null;
      if (f.populated > 0) {
        if (f.text) inferred = SHAPES.find((_, s) => f.shapes[s])?.[0] ?? 'text';
        else if (type === 'number') inferred = f.whole ? 'integer' : 'number';
        else inferred = type;
      }
      out.fields.push({
        form: key,
        field: f.column.name,
        columnType: type,
        inferredType: inferred,
        records: form.records,
        populated: f.populated,
        populationRate: form.records > 0 ? f.populated / form.records : null,
        distinct: f.counts.size,
        top,
        min: numeric ? f.min : dated && f.min !== null ? new Date(f.min) : null,
        max: numeric ? f.max : dated && f.max !== null ? new Date(f.max) : null,
        mean: numeric && f.populated > 0 ? f.sum / f.populated : null,
      });
    }
    out.forms.push({
      form: key,
      records: form.records,
      deletedRecords: form.deleted,
      completeness: share(cells, form.records),
    });
    const byId = (a: Group, b: Group) =>
      (a.id ?? Number.POSITIVE_INFINITY) - (b.id ?? Number.POSITIVE_INFINITY) ||
      String(a.name).localeCompare(String(b.name));
    for (const g of [...form.sites.values()].sort(byId))
      out.sites.push({
        form: key,
        siteId: g.id,
        siteName: g.name,
        records: g.records,
        completeness: share(g.filled, g.records),
      });
    for (const g of [...form.intervals.values()].sort(byId))
      out.intervals.push({
        form: key,
        intervalId: g.id,
        intervalName: g.name,
        records: g.records,
        completeness: share(g.filled, g.records),
      });
  }
  return out;
}

/** The Parquet files of a folder, read one at a time as loadParquet asks for them. */
async function* parquetFiles(dir: string): AsyncGenerator<ParquetFile> {
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.parquet')).sort())
    yield { name, data: await readFile(join(dir, name)) };
}

// ---- the run ------------------------------------------------------------------------------------

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const check: Check = { forms: {}, populated: {} };
let rows = 0;
let loadSeconds = 0;
let profileSeconds = 0;
let startSeconds = 0;
let counts = { forms: 0, fields: 0, sites: 0, intervals: 0 };
if (mode === 'export-parquet') {
  // Not measured: the Parquet files the parquet mode reads, one per form, in --dir.
  const summary = await exportStudy(
    client,
    studyKey,
    parquetSink({ directory: nodeDirectory(requiredOption('dir')) }),
    {
      pageSize: PAGE_SIZE,
      restart: true,
    },
  );
  rows = summary.rows;
} else if (mode === 'duckdb' || mode === 'parquet') {
  const db = openStudyDatabase();
  try {
    await db.start();
    const t1 = performance.now();
    startSeconds = (t1 - t0) / 1000;
    const summary =
      mode === 'duckdb'
        ? await db.loadStudy(client, studyKey, { pageSize: PAGE_SIZE })
        : await db.loadParquet(parquetFiles(requiredOption('dir')));
    const t2 = performance.now();
    loadSeconds = (t2 - t1) / 1000;
    rows = summary.rows;
    const profile = await profileStudy(db, { topValues: TOP_VALUES });
    profileSeconds = (performance.now() - t2) / 1000;
    for (const f of profile.forms) check.forms[f.form] = { records: f.records, deleted: f.deletedRecords };
    for (const f of profile.fields) check.populated[`${f.form}.${f.field}`] = f.populated;
    counts = {
      forms: profile.forms.length,
      fields: profile.fields.length,
      sites: profile.sites.length,
      intervals: profile.intervals.length,
    };
  } finally {
    await db.close();
  }
} else if (mode === 'js') {
  // Every form, as loadStudy creates every form's table (a form without records included).
  const forms = new Map<string, FormStats>();
  for (const spec of await client.workflows.tables(studyKey))
    if (spec.formKey !== undefined) forms.set(spec.name, newForm(spec));
  for await (const batch of client.workflows.rows(studyKey, { pageSize: PAGE_SIZE })) {
    if (batch.table.formKey === undefined) continue;
    let form = forms.get(batch.table.name);
    if (!form) {
      form = newForm(batch.table);
      forms.set(batch.table.name, form);
    }
    rows += batch.rows.length;
    addRows(form, batch.rows);
  }
  const t1 = performance.now();
  loadSeconds = (t1 - t0) / 1000;
  const profile = finish(forms.values());
  profileSeconds = (performance.now() - t1) / 1000;
  for (const f of profile.forms as { form: string; records: number; deletedRecords: number }[])
    check.forms[f.form] = { records: f.records, deleted: f.deletedRecords };
  for (const f of profile.fields as { form: string; field: string; populated: number }[])
    check.populated[`${f.form}.${f.field}`] = f.populated;
  counts = {
    forms: profile.forms.length,
    fields: profile.fields.length,
    sites: profile.sites.length,
    intervals: profile.intervals.length,
  };
} else if (mode === 'rows') {
  // The floor both build on: fetching and mapping the rows, nothing counted.
  for await (const batch of client.workflows.rows(studyKey, { pageSize: PAGE_SIZE }))
    rows += batch.rows.length;
  loadSeconds = (performance.now() - t0) / 1000;
} else {
  throw new Error(`--mode must be duckdb, parquet, js, rows or export-parquet (got ${mode})`);
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
if (rows !== expected) throw new Error(`${mode}: ${rows} rows, expected exactly ${expected}`);
process.stdout.write(
  `${JSON.stringify({
    mode,
    rows,
    startSeconds,
    loadSeconds,
    profileSeconds,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: mb(process.resourceUsage().maxRSS * 1024),
    counts,
    check,
  })}\n`,
);
