/**
 * The study profiler: on a form written by hand (every column type, blanks, a deleted record, two
 * sites, two intervals and a record outside any) against figures worked out by hand, and on a
 * generated study loaded from the mock API against a plain single-pass JavaScript count of the
 * mapper's rows. One database for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  type FieldProfile,
  openStudyDatabase,
  profileStudy,
  profileToArrow,
  type StudyDatabase,
  type StudyProfile,
} from '../../../src/plugins/duckdb/index.js';
import {
  type Column,
  type ColumnType,
  RECORD_COLUMNS,
  type Row,
  type TableSpec,
  workflows,
} from '../../../src/plugins/workflows/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

useMockApi({ studyKey: 'PROF', records: 400, subjects: 24, sites: 3 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

let db: StudyDatabase;
beforeAll(async () => {
  db = openStudyDatabase();
  await db.start();
}, 60_000);
afterAll(() => db?.close());

const variable = (name: string, type: ColumnType, declared: string): Column => ({
  name,
  type,
  kind: 'variable',
  variable: { name, label: `${name} label`, type: declared, id: name.length },
});

const MINI: TableSpec = {
  name: 'MINI',
  formKey: 'MINI',
  formName: 'Hand-made form',
  columns: [
    ...RECORD_COLUMNS,
    variable('n', 'number', 'NUMBER'),
    variable('i', 'integer', 'INTEGER'),
    variable('b', 'boolean', 'CHECKBOX'),
    variable('d', 'date', 'DATE'),
    variable('dt', 'datetime', 'DATETIME'),
    variable('tm', 'time', 'TIME'),
    variable('c', 'choice', 'RADIO'),
    variable('t', 'text', 'TEXT'),
    variable('tnum', 'text', 'TEXT'),
  ],
};

const day = (text: string) => new Date(`${text}T00:00:00Z`);
const at = (text: string) => new Date(`${text}Z`);

function record(
  recordId: number,
  site: 1 | 2,
  interval: 10 | 20 | null,
  values: Partial<Row>,
  deleted = false,
): Row {
  return {
    recordId,
    subjectKey: `S-${recordId}`,
    siteId: site,
    siteName: site === 1 ? 'Alpha' : 'Beta',
    intervalId: interval,
    intervalName: interval === 10 ? 'Screening' : interval === 20 ? 'Week 1' : null,
    visitId: interval === null ? null : recordId,
    formKey: 'MINI',
    recordStatus: 'Record Complete',
    dateCreated: at('2024-01-01T00:00:00'),
    dateModified: at('2024-01-02T00:00:00'),
    deleted,
    n: null,
    i: null,
    b: null,
    d: null,
    dt: null,
    tm: null,
    c: null,
    t: null,
    tnum: null,
    ...values,
  };
}

const MINI_ROWS: Row[] = [
  record(1, 1, 10, {
    n: 1.5,
    i: 10,
    b: true,
    d: day('2024-01-01'),
    dt: at('2024-01-01T10:00:00'),
    tm: '08:00',
    c: '1',
    t: 'a',
    tnum: '1',
  }),
  record(2, 1, 20, { n: 2.5, i: 20, b: false, d: day('2024-02-01'), c: '2', t: '', tnum: '2.5' }),
  record(3, 2, 10, { i: 10, dt: at('2024-03-01T00:00:00'), tm: '09:30', c: '1', t: 'b' }),
  record(4, 2, 20, { n: 3, b: true, d: day('2024-01-01'), t: 'a', tnum: '  ' }),
  // Deleted: in no figure but the form's count of deleted records.
  record(
    5,
    1,
    10,
    {
      n: 100,
      i: 999,
      b: true,
      d: day('1999-01-01'),
      dt: at('1999-01-01T00:00:00'),
      tm: '00:00',
      c: '3',
      t: 'zzz',
      tnum: 'x',
    },
    true,
  ),
  // Outside any interval, every field blank.
  record(6, 2, null, {}),
];

describe('profileStudy on a hand-made form', () => {
  let profile: StudyProfile;
  beforeAll(async () => {
    await db.loadRows([{ table: MINI, rows: MINI_ROWS }], { schema: 'mini', tables: [MINI] });
    profile = await profileStudy(db, { schema: 'mini' });
  });

  it('counts the records, leaving the deleted one out, and the share of cells filled', () => {
    // 5 live records × 9 variables; filled: 9 + 6 + 5 + 4 + 0 = 24.
    expect(profile.forms).toEqual([
      {
        form: 'MINI',
        formName: 'Hand-made form',
        records: 5,
        deletedRecords: 1,
        variables: 9,
        completeness: 24 / 45,
      },
    ]);
  });

  it('profiles each field as worked out by hand', () => {
    const base = (f: string, columnType: ColumnType, declaredType: string) => ({
      form: 'MINI',
      field: f,
      variable: f,
      label: `${f} label`,
      declaredType,
      columnType,
      records: 5,
    });
    const none = { min: null, max: null, mean: null };
    const expected: FieldProfile[] = [
      {
        ...base('n', 'number', 'NUMBER'),
        inferredType: 'number',
        populated: 3,
        populationRate: 0.6,
        distinct: 3,
        top: [
          { value: '1.5', count: 1 },
          { value: '2.5', count: 1 },
          { value: '3.0', count: 1 },
        ],
        min: 1.5,
        max: 3,
        mean: 7 / 3,
      },
      {
        ...base('i', 'integer', 'INTEGER'),
        inferredType: 'integer',
        populated: 3,
        populationRate: 0.6,
        distinct: 2,
        top: [
          { value: '10', count: 2 },
          { value: '20', count: 1 },
        ],
        min: 10,
        max: 20,
        mean: 40 / 3,
      },
      {
        ...base('b', 'boolean', 'CHECKBOX'),
        inferredType: 'boolean',
        populated: 3,
        populationRate: 0.6,
        distinct: 2,
        top: [
          { value: 'true', count: 2 },
          { value: 'false', count: 1 },
        ],
        ...none,
      },
      {
        ...base('d', 'date', 'DATE'),
        inferredType: 'date',
        populated: 3,
        populationRate: 0.6,
        distinct: 2,
        top: [
          { value: '2024-01-01', count: 2 },
          { value: '2024-02-01', count: 1 },
        ],
        min: day('2024-01-01'),
        max: day('2024-02-01'),
        mean: null,
      },
      {
        ...base('dt', 'datetime', 'DATETIME'),
        inferredType: 'datetime',
        populated: 2,
        populationRate: 0.4,
        distinct: 2,
        top: [
          { value: '2024-01-01 10:00:00', count: 1 },
          { value: '2024-03-01 00:00:00', count: 1 },
        ],
        min: at('2024-01-01T10:00:00'),
        max: at('2024-03-01T00:00:00'),
        mean: null,
      },
      {
        ...base('tm', 'time', 'TIME'),
        inferredType: 'time',
        populated: 2,
        populationRate: 0.4,
        distinct: 2,
        top: [
          { value: '08:00', count: 1 },
          { value: '09:30', count: 1 },
        ],
        ...none,
      },
      {
        ...base('c', 'choice', 'RADIO'),
        // Codes 1 and 2: whole numbers.
        inferredType: 'integer',
        populated: 3,
        populationRate: 0.6,
        distinct: 2,
        top: [
          { value: '1', count: 2 },
          { value: '2', count: 1 },
        ],
        ...none,
      },
      {
        ...base('t', 'text', 'TEXT'),
        // '' is blank: a, b, a.
        inferredType: 'text',
        populated: 3,
        populationRate: 0.6,
        distinct: 2,
        top: [
          { value: 'a', count: 2 },
          { value: 'b', count: 1 },
        ],
        ...none,
      },
      {
        ...base('tnum', 'text', 'TEXT'),
        // '1' and '2.5' (the blank '  ' is not a value): numbers, not all whole.
        inferredType: 'number',
        populated: 2,
        populationRate: 0.4,
        distinct: 2,
        top: [
          { value: '1', count: 1 },
          { value: '2.5', count: 1 },
        ],
        ...none,
      },
    ];
    expect(
      profile.fields.map((f) => ({ ...f, mean: f.mean === null ? null : Number(f.mean.toFixed(12)) })),
    ).toEqual(expected.map((f) => ({ ...f, mean: f.mean === null ? null : Number(f.mean.toFixed(12)) })));
  });

  it('gives completeness per site and per interval, records outside any interval on their own', () => {
    // Filled cells per record: 1 → 9, 2 → 6, 3 → 5, 4 → 4, 6 → 0.
    expect(profile.sites).toEqual([
      { form: 'MINI', siteId: 1, siteName: 'Alpha', records: 2, completeness: 15 / 18 },
      { form: 'MINI', siteId: 2, siteName: 'Beta', records: 3, completeness: 9 / 27 },
    ]);
    expect(profile.intervals).toEqual([
      { form: 'MINI', intervalId: 10, intervalName: 'Screening', records: 2, completeness: 14 / 18 },
      { form: 'MINI', intervalId: 20, intervalName: 'Week 1', records: 2, completeness: 10 / 18 },
      { form: 'MINI', intervalId: null, intervalName: null, records: 1, completeness: 0 },
    ]);
  });

  it('keeps as many top values as asked', async () => {
    const two = await profileStudy(db, { schema: 'mini', topValues: 1 });
    expect(two.fields.find((f) => f.field === 'i')?.top).toEqual([{ value: '10', count: 2 }]);
  });

  it('answers the same as Arrow tables', async () => {
    const arrow = await profileToArrow(profile);
    expect(arrow.forms.numRows).toBe(1);
    expect(arrow.fields.numRows).toBe(9);
    expect(arrow.topValues.numRows).toBe(profile.fields.reduce((n, f) => n + f.top.length, 0));
    expect(arrow.sites.numRows).toBe(2);
    expect(arrow.intervals.numRows).toBe(3);
    const n = arrow.fields.get(0)?.toJSON();
    expect(n).toMatchObject({ field: 'n', populated: 3n, minNumber: 1.5, maxNumber: 3, minDate: null });
    const d = arrow.fields.get(3)?.toJSON();
    expect(d).toMatchObject({ field: 'd', minDate: day('2024-01-01').getTime(), minNumber: null });
    expect(arrow.topValues.get(0)?.toJSON()).toMatchObject({
      form: 'MINI',
      field: 'n',
      rank: 1n,
      value: '1.5',
    });
  });

  it('refuses what it cannot profile', async () => {
    await expect(profileStudy(db, { schema: 'nothing-loaded' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(profileStudy(db, { schema: 'mini', forms: ['NOPE'] })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(profileStudy(db, { schema: 'mini', topValues: -1 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
  });
});

/** DuckDB's text of a value, as the profile's top values carry it. */
function asText(value: unknown, type: ColumnType): string {
  if (value instanceof Date) {
    const iso = value.toISOString();
    return type === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  if (type === 'number' && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

/** The profile of one form's rows, counted the plain way: one pass, then sorting. */
function reference(table: TableSpec, rows: readonly Row[], topValues: number) {
  const live = rows.filter((r) => r.deleted !== true);
  const variables = table.columns.filter((c) => c.kind === 'variable');
  const isFilled = (v: unknown) =>
    v !== null && v !== undefined && !(typeof v === 'string' && v.trim() === '');
  const fields = variables.map((column) => {
    const counts = new Map<string, number>();
    let filled = 0;
    let sum = 0;
    let min: number | Date | null = null;
    let max: number | Date | null = null;
    for (const row of live) {
      const v = row[column.name];
      if (v !== null && v !== undefined && (typeof v === 'number' || v instanceof Date)) {
        if (min === null || v < min) min = v;
        if (max === null || v > max) max = v;
      }
      if (!isFilled(v)) continue;
      filled++;
      if (typeof v === 'number') sum += v;
      const text = asText(v, column.type);
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    const top = [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, topValues)
      .map(([value, count]) => ({ value, count }));
    const numeric = column.type === 'integer' || column.type === 'number';
    return {
      field: column.name,
      populated: filled,
      distinct: counts.size,
      top,
      min,
      max,
      mean: numeric && filled > 0 ? sum / filled : null,
    };
  });
  return { records: live.length, deleted: rows.length - live.length, fields };
}

describe('profileStudy on a generated study', () => {
  let profile: StudyProfile;
  const mapped = new Map<string, Row[]>();
  let tables: TableSpec[];

  beforeAll(async () => {
    await db.loadStudy(client(), 'PROF', { schema: 'prof' });
    profile = await profileStudy(db, { schema: 'prof', topValues: 3 });
    tables = await client().workflows.tables('PROF');
    for await (const batch of client().workflows.rows('PROF')) {
      mapped.set(batch.table.name, [...(mapped.get(batch.table.name) ?? []), ...batch.rows]);
    }
  }, 60_000);

  it('equals a plain JavaScript count of the same rows, field by field', () => {
    expect(profile.forms.map((f) => f.form)).toEqual(tables.map((t) => t.name));
    let deleted = 0;
    for (const table of tables) {
      const expected = reference(table, mapped.get(table.name) ?? [], 3);
      deleted += expected.deleted;
      const form = profile.forms.find((f) => f.form === table.name)!;
      expect({ form: table.name, records: form.records, deleted: form.deletedRecords }).toEqual({
        form: table.name,
        records: expected.records,
        deleted: expected.deleted,
      });
      const actual = profile.fields
        .filter((f) => f.form === table.name)
        .map((f) => ({
          field: f.field,
          populated: f.populated,
          distinct: f.distinct,
          top: f.top,
          min: f.min,
          max: f.max,
          mean: f.mean === null ? null : Number(f.mean.toFixed(9)),
        }));
      expect(actual).toEqual(
        expected.fields.map((f) => ({ ...f, mean: f.mean === null ? null : Number(f.mean.toFixed(9)) })),
      );
    }
    // The study has what the profile must handle: deleted records and blanks.
    expect(deleted).toBeGreaterThan(0);
    expect(profile.fields.some((f) => f.populated < f.records)).toBe(true);
    console.log(`profile of ${profile.forms.reduce((n, f) => n + f.records, 0)} records: ${profile.ms} ms`);
  });

  it('infers from the values: whole numbers in a NUMBER column, and text as the declared type', () => {
    for (const f of profile.fields) {
      if (f.populated === 0) expect(f.inferredType).toBeNull();
      else if (f.columnType === 'number') expect(['integer', 'number']).toContain(f.inferredType);
      else if (f.columnType === 'choice') expect(['integer', 'text']).toContain(f.inferredType);
      else expect(f.inferredType).toBe(f.columnType);
    }
  });

  it('splits each form’s records across sites and intervals without losing one', () => {
    for (const form of profile.forms) {
      const sites = profile.sites.filter((s) => s.form === form.form);
      const intervals = profile.intervals.filter((s) => s.form === form.form);
      expect(sites.reduce((n, s) => n + s.records, 0)).toBe(form.records);
      expect(intervals.reduce((n, s) => n + s.records, 0)).toBe(form.records);
      if (form.completeness !== null && form.records > 0) {
        const weighted = sites.reduce((n, s) => n + (s.completeness ?? 0) * s.records, 0) / form.records;
        expect(weighted).toBeCloseTo(form.completeness, 12);
      }
    }
  });
});
