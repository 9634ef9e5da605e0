/**
 * The study profiler: what a study's data looks like, computed by DuckDB over the form tables a
 * load put in a database. Per form its record count; per field (a variable's column) how often it
 * is filled, the type its values have against the type declared, its distinct and most frequent
 * values, min/max/mean for numbers and min/max for dates; and completeness per site and per
 * interval (form × site, form × interval). Deleted records are counted per form and left out of
 * everything else. Answered as typed objects; {@link profileToArrow} gives the same as Arrow.
 *
 * A field is populated where its value is not null and, for text, not blank (the API sends an
 * unanswered text question as ''). Completeness is the share of a form's variable cells populated.
 */
import type { Table } from 'apache-arrow';
import { ConfigurationError } from '../../core/errors.js';
import type { Column, ColumnType, Row, TableSpec } from '../workflows/tables.js';
import { batchTable, schemaOf } from './arrow.js';
import { quoteIdentifier, type StudyDatabase } from './database.js';
import { loadArrow } from './library.js';

/**
 * Options of {@link profileStudy}.
 * @example { schema: 'mystudy', forms: ['AE', 'VS'], topValues: 10 }
 */
export interface ProfileOptions {
  /** The DuckDB schema holding the form tables (default `main`). */
  schema?: string;
  /**
   * The form tables to profile (the mapper's table specs). Default: the wide form tables loads
   * put in `schema` (`db.loadedTables(schema)`).
   */
  tables?: readonly TableSpec[];
  /** Only these forms (keys). */
  forms?: readonly string[];
  /** Most frequent values kept per field (default 5). */
  topValues?: number;
}

/** One form: its records and how complete they are. */
export interface FormProfile {
  form: string;
  formName: string | null;
  /** Records, deleted ones left out. */
  records: number;
  /** Deleted records (left out of every other figure). */
  deletedRecords: number;
  /** Variable columns. */
  variables: number;
  /** Share of its variable cells populated (null: no records or no variables). */
  completeness: number | null;
}

/** A value and how many records have it. */
export interface ValueCount {
  /** The value as DuckDB writes it as text (`2024-03-05`, `2024-03-05 10:00:00`, `36.6`, `true`). */
  value: string;
  count: number;
}

/** One field: a variable's column on one form. */
export interface FieldProfile {
  form: string;
  /** The column's name in the form's table. */
  field: string;
  /** The variable's name and label, and its type as the API declares it (e.g. `RADIO`). */
  variable: string | null;
  label: string | null;
  declaredType: string | null;
  /** The column's type, from the declared type. */
  columnType: ColumnType;
  /**
   * The narrowest type every populated value fits: `integer` for a NUMBER column of whole numbers,
   * `date` for a TEXT column of `YYYY-MM-DD`s, `text` when nothing narrower fits; null when no
   * value is populated. Text is tried as integer, number, date, datetime, time, then text.
   */
  inferredType: ColumnType | null;
  /** Records of the form (deleted ones left out). */
  records: number;
  /** Records where it is populated. */
  populated: number;
  /** populated / records (null: no records). */
  populationRate: number | null;
  /** Distinct populated values. */
  distinct: number;
  /** The most frequent populated values, most frequent first (ties: by value). */
  top: ValueCount[];
  /** Least and greatest value, for numbers (number) and dates (Date); null for other types. */
  min: number | Date | null;
  max: number | Date | null;
  /** Mean, for numbers. */
  mean: number | null;
}

/** Completeness of one form at one site. */
export interface SiteCompleteness {
  form: string;
  siteId: number | null;
  siteName: string | null;
  records: number;
  /** Share of the variable cells of these records populated (null: no variables). */
  completeness: number | null;
}

/** Completeness of one form at one interval (visit); records outside any interval have null ids. */
export interface IntervalCompleteness {
  form: string;
  intervalId: number | null;
  intervalName: string | null;
  records: number;
  /** Share of the variable cells of these records populated (null: no variables). */
  completeness: number | null;
}

/** A study's profile. */
export interface StudyProfile {
  schema: string;
  forms: FormProfile[];
  fields: FieldProfile[];
  /** Form × site, in form order then by siteId. */
  sites: SiteCompleteness[];
  /** Form × interval, in form order then by intervalId. */
  intervals: IntervalCompleteness[];
  /** Milliseconds the profile took. */
  ms: number;
}

/** The profile as Arrow tables: the typed objects' fields as columns, top values a table of their own. */
export interface StudyProfileArrow {
  forms: Table;
  /** `min`/`max` split by type: `minNumber`, `maxNumber`, `mean`, `minDate`, `maxDate`. */
  fields: Table;
  /** form, field, rank (1 = most frequent), value, count. */
  topValues: Table;
  sites: Table;
  intervals: Table;
}

const TEXT_TYPES: ReadonlySet<ColumnType> = new Set(['text', 'choice', 'time']);

/** What a text value may look like, narrowest first. */
const SHAPES: readonly [ColumnType, string][] = [
  ['integer', '[+-]?[0-9]+'],
  ['number', '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?'],
  ['date', '[0-9]{4}-[0-9]{2}-[0-9]{2}'],
  [
    'datetime',
    '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?',
  ],
  ['time', '[0-9]{2}:[0-9]{2}(:[0-9]{2})?'],
];

const LIVE = '"deleted" IS NOT TRUE';

/** SQL true where a column's value is populated. */
function populated(column: Column): string {
  const c = quoteIdentifier(column.name);
  return TEXT_TYPES.has(column.type) ? `(${c} IS NOT NULL AND trim(${c}) <> '')` : `(${c} IS NOT NULL)`;
}

const num = (value: unknown): number =>
  typeof value === 'bigint' ? Number(value) : ((value as number) ?? 0);
const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** The figures of one form: its summary, typed stats, value counts and completeness. */
async function profileForm(
  db: StudyDatabase,
  schema: string,
  spec: TableSpec,
  topValues: number,
): Promise<{
  form: FormProfile;
  fields: FieldProfile[];
  sites: SiteCompleteness[];
  intervals: IntervalCompleteness[];
}> {
  const table = `${quoteIdentifier(schema)}.${quoteIdentifier(spec.name)}`;
  const variables = spec.columns.filter((c) => c.kind === 'variable');
  const form = spec.formKey ?? spec.name;

  // One pass for the counts and the typed figures, each field's under positional names.
  const select = [
    `count(*) FILTER (WHERE ${LIVE}) AS records`,
    'count(*) FILTER (WHERE "deleted") AS deleted',
  ];
  variables.forEach((column, i) => {
    const c = quoteIdentifier(column.name);
    const live = `${LIVE} AND ${populated(column)}`;
    select.push(`count(*) FILTER (WHERE ${live}) AS p${i}`);
    if (column.type === 'integer' || column.type === 'number') {
      select.push(
        `min(${c}) FILTER (WHERE ${LIVE}) AS min${i}`,
        `max(${c}) FILTER (WHERE ${LIVE}) AS max${i}`,
      );
      select.push(`avg(${c}) FILTER (WHERE ${LIVE}) AS mean${i}`);
      if (column.type === 'number')
        select.push(`bool_and(${c} = floor(${c})) FILTER (WHERE ${live}) AS whole${i}`);
    } else if (column.type === 'date' || column.type === 'datetime') {
      select.push(
        `min(${c}) FILTER (WHERE ${LIVE}) AS min${i}`,
        `max(${c}) FILTER (WHERE ${LIVE}) AS max${i}`,
      );
    } else if (TEXT_TYPES.has(column.type)) {
      SHAPES.forEach(([, pattern], s) => {
        select.push(
          `bool_and(regexp_full_match(trim(${c}), '${pattern}')) FILTER (WHERE ${live}) AS shape${i}_${s}`,
        );
      });
    }
  });
  const [stats = {}] = await db.query(`SELECT ${select.join(', ')} FROM ${table}`);
  const records = num(stats.records);

  // Distinct and most frequent values: every populated value as text, one row each, counted.
  const values = new Map<number, { distinct: number; top: ValueCount[] }>();
  if (variables.length > 0 && records > 0) {
    const unpivot = variables
      .map(
        (column, i) =>
          `CASE WHEN ${populated(column)} THEN CAST(${quoteIdentifier(column.name)} AS VARCHAR) END AS "f${i}"`,
      )
      .join(', ');
    const rows = await db.query(
      `WITH counted AS (
         SELECT field, value, count(*) AS n
         FROM (UNPIVOT (SELECT ${unpivot} FROM ${table} WHERE ${LIVE}) ON COLUMNS(*) INTO NAME field VALUE value)
         GROUP BY field, value
       ), ranked AS (
         SELECT field, value, n, row_number() OVER (PARTITION BY field ORDER BY n DESC, value) AS r
         FROM counted
       )
       SELECT field, count(*) AS distinct_values,
              list({'value': value, 'count': n} ORDER BY r) FILTER (WHERE r <= ${topValues}) AS top
       FROM ranked GROUP BY field`,
    );
    for (const row of rows) {
      const top = ((row.top as { value: string; count: unknown }[] | null) ?? []).map((t) => ({
        value: t.value,
        count: num(t.count),
      }));
      values.set(Number(String(row.field).slice(1)), { distinct: num(row.distinct_values), top });
    }
  }

  const fields: FieldProfile[] = variables.map((column, i) => {
    const count = num(stats[`p${i}`]);
    let inferred: ColumnType | null = null;
    if (count > 0) {
      if (TEXT_TYPES.has(column.type)) {
        inferred = SHAPES.find((_, s) => stats[`shape${i}_${s}`] === true)?.[0] ?? 'text';
      } else if (column.type === 'number') {
        inferred = stats[`whole${i}`] === true ? 'integer' : 'number';
      } else {
        inferred = column.type;
      }
    }
    const ranged =
      column.type === 'integer' ||
      column.type === 'number' ||
      column.type === 'date' ||
      column.type === 'datetime';
    return {
      form,
      field: column.name,
      variable: column.variable?.name ?? null,
      label: column.variable?.label ?? null,
      declaredType: column.variable?.type ?? null,
      columnType: column.type,
      inferredType: inferred,
      records,
      populated: count,
      populationRate: records > 0 ? count / records : null,
      distinct: values.get(i)?.distinct ?? 0,
      top: values.get(i)?.top ?? [],
      min: ranged ? (orNull(stats[`min${i}`]) as number | Date | null) : null,
      max: ranged ? (orNull(stats[`max${i}`]) as number | Date | null) : null,
      mean:
        column.type === 'integer' || column.type === 'number'
          ? (orNull(stats[`mean${i}`]) as number | null)
          : null,
    };
  });

  const cells = fields.reduce((sum, f) => sum + f.populated, 0);
  const share = (filled: number, rows: number) =>
    variables.length > 0 && rows > 0 ? filled / (rows * variables.length) : null;
  // Per site and per interval: records and populated cells of each group.
  const filled = variables.length > 0 ? variables.map((c) => `${populated(c)}::INTEGER`).join(' + ') : '0';
  const groups = async (id: string, name: string) =>
    db.query(
      `SELECT ${quoteIdentifier(id)} AS id, ${quoteIdentifier(name)} AS name, count(*) AS records, sum(${filled}) AS filled
       FROM ${table} WHERE ${LIVE} GROUP BY ALL ORDER BY id NULLS LAST, name`,
    );
  const bySite = await groups('siteId', 'siteName');
  const byInterval = await groups('intervalId', 'intervalName');

  return {
    form: {
      form,
      formName: spec.formName ?? null,
      records,
      deletedRecords: num(stats.deleted),
      variables: variables.length,
      completeness: share(cells, records),
    },
    fields,
    sites: bySite.map((g) => ({
      form,
      siteId: orNull(g.id as number | null),
      siteName: orNull(g.name as string | null),
      records: num(g.records),
      completeness: share(num(g.filled), num(g.records)),
    })),
    intervals: byInterval.map((g) => ({
      form,
      intervalId: orNull(g.id as number | null),
      intervalName: orNull(g.name as string | null),
      records: num(g.records),
      completeness: share(num(g.filled), num(g.records)),
    })),
  };
}

/**
 * Profiles the form tables a load put in the database (or the `tables` given): per form, per
 * field, per form × site and per form × interval, with deleted records left out.
 * @example
 * await using db = openStudyDatabase();
 * await db.loadStudy(client, 'MYSTUDY');
 * const profile = await profileStudy(db);
 * for (const f of profile.fields) console.log(f.form, f.field, f.populationRate, f.inferredType, f.top[0]?.value);
 */
export async function profileStudy(db: StudyDatabase, options: ProfileOptions = {}): Promise<StudyProfile> {
  const started = performance.now();
  const schema = options.schema ?? 'main';
  const topValues = options.topValues ?? 5;
  if (!Number.isInteger(topValues) || topValues < 0) {
    throw new ConfigurationError('topValues must be a whole number, 0 or more');
  }
  // Form tables only: a load's other tables (the long layout, history staging) are no forms.
  let specs = (options.tables ?? db.loadedTables(schema)).filter((t) => t.formKey !== undefined);
  if (options.forms) {
    const wanted = new Set(options.forms);
    const unknown = [...wanted].filter((key) => !specs.some((t) => t.formKey === key));
    if (unknown.length > 0) {
      throw new ConfigurationError(
        `forms: no loaded form table ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
      );
    }
    specs = specs.filter((t) => wanted.has(t.formKey as string));
  }
  if (specs.length === 0) {
    throw new ConfigurationError(
      `profileStudy: no form tables in schema ${JSON.stringify(schema)}: load a study first (db.loadStudy) or give tables`,
    );
  }
  const profile: StudyProfile = { schema, forms: [], fields: [], sites: [], intervals: [], ms: 0 };
  for (const spec of specs) {
    const part = await profileForm(db, schema, spec, topValues);
    profile.forms.push(part.form);
    profile.fields.push(...part.fields);
    profile.sites.push(...part.sites);
    profile.intervals.push(...part.intervals);
  }
  profile.ms = Math.round(performance.now() - started);
  return profile;
}

const column = (name: string, type: ColumnType): Column => ({ name, type, kind: 'record' });

/** The Arrow tables' columns. */
const ARROW_TABLES = {
  forms: [
    column('form', 'text'),
    column('formName', 'text'),
    column('records', 'integer'),
    column('deletedRecords', 'integer'),
    column('variables', 'integer'),
    column('completeness', 'number'),
  ],
  fields: [
    column('form', 'text'),
    column('field', 'text'),
    column('variable', 'text'),
    column('label', 'text'),
    column('declaredType', 'text'),
    column('columnType', 'text'),
    column('inferredType', 'text'),
    column('records', 'integer'),
    column('populated', 'integer'),
    column('populationRate', 'number'),
    column('distinct', 'integer'),
    column('minNumber', 'number'),
    column('maxNumber', 'number'),
    column('mean', 'number'),
    column('minDate', 'datetime'),
    column('maxDate', 'datetime'),
  ],
  topValues: [
    column('form', 'text'),
    column('field', 'text'),
    column('rank', 'integer'),
    column('value', 'text'),
    column('count', 'integer'),
  ],
  sites: [
    column('form', 'text'),
    column('siteId', 'integer'),
    column('siteName', 'text'),
    column('records', 'integer'),
    column('completeness', 'number'),
  ],
  intervals: [
    column('form', 'text'),
    column('intervalId', 'integer'),
    column('intervalName', 'text'),
    column('records', 'integer'),
    column('completeness', 'number'),
  ],
} as const satisfies Record<keyof StudyProfileArrow, readonly Column[]>;

/**
 * A profile as Arrow tables (through the same row → Arrow mapping as the study's tables), for
 * Arrow-native tools or to write to Parquet.
 * @example
 * await using db = openStudyDatabase();
 * await db.loadStudy(client, 'MYSTUDY');
 * const { fields, topValues } = await profileToArrow(await profileStudy(db));
 * console.log(fields.numRows, topValues.numRows);
 */
export async function profileToArrow(profile: StudyProfile): Promise<StudyProfileArrow> {
  const arrow = await loadArrow();
  const make = (name: keyof StudyProfileArrow, rows: Row[]) => {
    const spec: TableSpec = { name, columns: ARROW_TABLES[name] };
    return batchTable(arrow, spec, schemaOf(arrow, spec), rows);
  };
  const isDate = (v: unknown): v is Date => v instanceof Date;
  const isNumber = (v: unknown): v is number => typeof v === 'number';
  return {
    forms: make('forms', profile.forms as unknown as Row[]),
    fields: make(
      'fields',
      profile.fields.map(({ top: _top, min, max, ...f }) => ({
        ...f,
        minNumber: isNumber(min) ? min : null,
        maxNumber: isNumber(max) ? max : null,
        minDate: isDate(min) ? min : null,
        maxDate: isDate(max) ? max : null,
      })),
    ),
    topValues: make(
      'topValues',
      profile.fields.flatMap((f) =>
        f.top.map((t, i) => ({ form: f.form, field: f.field, rank: i + 1, value: t.value, count: t.count })),
      ),
    ),
    sites: make('sites', profile.sites as unknown as Row[]),
    intervals: make('intervals', profile.intervals as unknown as Row[]),
  };
}
