import { describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { parseApiDate } from '../../../src/core/dates.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { isImednetError } from '../../../src/index.js';
import { sync } from '../../../src/plugins/sync/index.js';
import {
  convertValue,
  type MapIssue,
  mapRecords,
  RECORD_COLUMNS,
  type Row,
  type RowBatch,
  RowMappingError,
  workflows,
} from '../../../src/plugins/workflows/index.js';
import { memoryStorage } from '../../../src/storage/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import type { ApiRecord } from '../../../src/testing/types.js';
import { sdkRecords, structureOf as structureOfStudy } from '../../support/fake-structure.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

/** The fake study's records as the SDK's records. */
const sdk = sdkRecords;

const { study, api } = useMockApi({ records: 2000, subjects: 60, sites: 4 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

async function collect(batches: AsyncIterable<RowBatch>) {
  const tables = new Map<string, Row[]>();
  const sizes: number[] = [];
  for await (const batch of batches) {
    sizes.push(batch.rows.length);
    const rows = tables.get(batch.table.name) ?? [];
    rows.push(...batch.rows);
    tables.set(batch.table.name, rows);
  }
  return { tables, sizes };
}

/** A structure built from the fake study itself, without the API. */
const structureOf = (s = study) => structureOfStudy(s);

describe('client.workflows.rows (the record mapper)', () => {
  it('gives one table per form: the fixed record columns, then a column per variable typed from its type', async () => {
    const tables = await client().workflows.tables('DEMO');
    expect(tables.map((t) => t.name)).toEqual(study.forms.map((f) => f.formKey));
    const vs = tables.find((t) => t.name === 'VS')!;
    expect(vs.columns.slice(0, RECORD_COLUMNS.length).map((c) => c.name)).toEqual([
      'recordId',
      'subjectKey',
      'siteId',
      'siteName',
      'intervalId',
      'intervalName',
      'visitId',
      'formKey',
      'recordStatus',
      'dateCreated',
      'dateModified',
      'deleted',
    ]);
    const variables = study.variables
      .filter((v) => v.formKey === 'VS')
      .sort((a, b) => a.sequence - b.sequence);
    const rest = vs.columns.slice(RECORD_COLUMNS.length);
    expect(rest.map((c) => c.name)).toEqual(variables.map((v) => v.variableName));
    const typeOf = (apiType: string) => rest.find((c) => c.variable?.type === apiType)?.type;
    expect(typeOf('NUMBER')).toBe('number');
    expect(typeOf('INTEGER')).toBe('integer');
    expect(typeOf('CHECKBOX')).toBe('boolean');
    expect(typeOf('DATETIME') ?? typeOf('DATE')).toMatch(/^date/);
  });

  it('maps every record once, with values typed: numbers, booleans, dates, choice codes, text; blanks are null', async () => {
    const { tables, sizes } = await collect(client().workflows.rows('DEMO', { batchSize: 100 }));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    const rows = [...tables.values()].flat();
    const records = [...study.records];
    expect(rows.map((r) => r.recordId).sort((a, b) => Number(a) - Number(b))).toEqual(
      records.map((r) => r.recordId),
    );

    const byId = new Map(rows.map((r) => [r.recordId, r]));
    const variables = new Map(study.variables.map((v) => [`${v.formKey}.${v.variableName}`, v]));
    const seen = new Set<string>();
    for (const record of records) {
      const row = byId.get(record.recordId)!;
      expect(row.formKey).toBe(record.formKey);
      expect(row.subjectKey).toBe(record.subjectKey);
      expect(row.siteName).toBe(study.sites.find((s) => s.siteId === record.siteId)?.siteName ?? null);
      expect(row.dateModified).toEqual(new Date(`${record.dateModified.replace(' ', 'T')}Z`));
      for (const [name, raw] of Object.entries(record.recordData)) {
        const type = variables.get(`${record.formKey}.${name}`)!.variableType;
        const value = row[name];
        seen.add(type);
        if (raw === '') {
          expect(value).toBe(type === 'TEXT' || type === 'MEMO' ? '' : null);
          continue;
        }
        switch (type) {
          case 'NUMBER':
          case 'INTEGER':
            expect(value).toBe(Number(raw));
            break;
          case 'CHECKBOX':
            expect(value).toBe(raw === '1');
            break;
          case 'DATE':
            expect(value).toEqual(new Date(`${raw}T00:00:00Z`));
            break;
          case 'DATETIME':
            expect(value).toEqual(new Date(`${String(raw).replace(' ', 'T')}Z`));
            break;
          default:
            expect(value).toBe(raw);
        }
      }
      // A variable the record has no value for is null, not missing and not invented.
      for (const column of Object.keys(row)) expect(row[column]).not.toBeUndefined();
    }
    expect([...seen].sort()).toEqual(
      [
        'CHECKBOX',
        'DATE',
        'DATETIME',
        'DROPDOWN',
        'INTEGER',
        'MEMO',
        'NUMBER',
        'RADIO',
        'TEXT',
        'TIME',
      ].sort(),
    );
  });

  it('types the same study the same whether the API sends values as strings or typed JSON', async () => {
    const strings = createFakeStudy({ studyKey: 'S', records: 300, seed: 9, valueStyle: 'strings' });
    const typed = createFakeStudy({ studyKey: 'S', records: 300, seed: 9, valueStyle: 'typed' });
    const a = await collect(mapRecords(sdk([...strings.records]), structureOf(strings)));
    const b = await collect(mapRecords(sdk([...typed.records]), structureOf(typed)));
    const textColumns = new Set(
      strings.variables
        .filter((v) => v.variableType === 'TEXT' || v.variableType === 'MEMO')
        .map((v) => v.variableName),
    );
    const strip = (rows: Row[]) =>
      rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !textColumns.has(k))));
    for (const [name, rows] of a.tables) expect(strip(b.tables.get(name)!)).toEqual(strip(rows));
  });

  it('selects forms (on the server) and variables, and refuses unknown ones before reading records', async () => {
    const { tables } = await collect(
      client().workflows.rows('DEMO', { forms: ['AE'], variables: ['aeterm', 'aeser'] }),
    );
    expect([...tables.keys()]).toEqual(['AE']);
    const row = tables.get('AE')![0]!;
    expect(Object.keys(row)).toEqual([...RECORD_COLUMNS.map((c) => c.name), 'aeterm', 'aeser']);
    const sent = api.requests.filter((r) => r.path.endsWith('/records'));
    expect(sent.every((r) => new URLSearchParams(r.search).get('filter') === 'formKey==AE')).toBe(true);

    api.requests.length = 0;
    const wf = client().workflows;
    await expect(collect(wf.rows('DEMO', { forms: ['NOPE'] }))).rejects.toThrow(/no form "NOPE"/);
    await expect(collect(wf.rows('DEMO', { variables: ['nope'] }))).rejects.toThrow(
      /no variable named "nope"/,
    );
    await expect(collect(wf.rows('DEMO', { batchSize: 0 }))).rejects.toThrow(ConfigurationError);
    await expect(collect(wf.rows('DEMO', { layout: 'tall' as never }))).rejects.toThrow(/layout/);
    expect(api.requests.filter((r) => r.path.endsWith('/records'))).toEqual([]);
  });

  it('heads columns by label, making case-insensitive duplicates unique without losing a value', async () => {
    const s = createFakeStudy({ studyKey: 'S', records: 200, seed: 3 });
    const form = s.forms.find((f) => f.formKey === 'VS')!;
    const vars = s.variables.filter((v) => v.formId === form.formId);
    // Two labels that differ only in case, and one equal to a fixed column's name.
    const relabelled = s.variables.map((v) =>
      v === vars[0]
        ? { ...v, label: 'Weight' }
        : v === vars[1]
          ? { ...v, label: 'WEIGHT' }
          : v === vars[2]
            ? { ...v, label: 'recordId' }
            : v,
    );
    const structure = structureOfStudy(s, { variables: relabelled });
    const { tables } = await collect(
      mapRecords(sdk([...s.records]), structure, { header: 'label', forms: ['VS'] }),
    );
    const [spec] = (await import('../../../src/plugins/workflows/tables.js')).planTables(structure, {
      header: 'label',
      forms: ['VS'],
    });
    const names = spec!.columns.map((c) => c.name);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    const renamed = spec!.columns.filter((c) => c.requestedName !== undefined);
    expect(renamed.map((c) => [c.requestedName, c.name])).toEqual([
      ['WEIGHT', 'WEIGHT_2'],
      ['recordId', 'recordId_2'],
    ]);
    // Each variable's values are under its own column.
    const record = [...s.records].find(
      (r) => r.formKey === 'VS' && r.recordData[vars[1]!.variableName] !== undefined,
    )!;
    const row = tables.get('VS')!.find((r) => r.recordId === record.recordId)!;
    expect(row.WEIGHT_2).toBe(Number(record.recordData[vars[1]!.variableName]));
    expect(row.recordId).toBe(record.recordId);
  });

  it('stops on a value that does not fit its type, naming record and variable but not the value', async () => {
    const record = study.findRecord((h) => h.formKey === 'VS')!;
    const numberVar = study.variables.find((v) => v.formKey === 'VS' && v.variableType === 'NUMBER')!;
    const secret = 'SECRET-PATIENT-TEXT';
    const bad = { ...record, recordData: { ...record.recordData, [numberVar.variableName]: secret } };
    const error = await collect(mapRecords(sdk([bad]), structureOf())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RowMappingError);
    expect(isImednetError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(String(record.recordId));
    expect(message).toContain(numberVar.variableName);
    expect(message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);

    const issues: MapIssue[] = [];
    const { tables } = await collect(
      mapRecords(sdk([bad]), structureOf(), { onInvalidValue: 'null', onIssue: (i) => issues.push(i) }),
    );
    expect(tables.get('VS')![0]![numberVar.variableName]).toBeNull();
    expect(issues).toEqual([
      {
        kind: 'invalid-value',
        recordId: record.recordId,
        formKey: 'VS',
        variable: numberVar.variableName,
        expected: 'number',
      },
    ]);
  });

  it('stops on a value under a name that is no variable of the form, or a record on an unknown form, unless told to leave them out', async () => {
    const record = study.findRecord((h) => h.formKey === 'AE')!;
    const extra = { ...record, recordData: { ...record.recordData, notAVariable: '1' } };
    await expect(collect(mapRecords(sdk([extra]), structureOf()))).rejects.toThrow(
      /"notAVariable", which is no variable of the form/,
    );
    const stranger = { ...record, formKey: 'NEWFORM' } as ApiRecord;
    await expect(collect(mapRecords(sdk([stranger]), structureOf()))).rejects.toThrow(
      /form NEWFORM, which the study structure does not have/,
    );

    const issues: MapIssue[] = [];
    const { tables } = await collect(
      mapRecords(sdk([extra, stranger]), structureOf(), {
        unknown: 'ignore',
        onIssue: (i) => issues.push(i),
      }),
    );
    expect(tables.get('AE')!.length).toBe(1);
    expect(issues.map((i) => i.kind)).toEqual(['unknown-variable', 'unknown-form']);
  });

  it('adds a label column after a choice code when labels are given; an unlabelled code keeps its code', async () => {
    const sev = study.variables.find((v) => v.formKey === 'AE' && v.variableType === 'RADIO')!;
    const issues: MapIssue[] = [];
    const labels = { '1': 'Mild', '2': 'Moderate' }; // no label for '3'
    const { tables } = await collect(
      mapRecords(sdk([...study.records]), structureOf(), {
        forms: ['AE'],
        choiceLabels: { [sev.variableName]: labels },
        onIssue: (i) => issues.push(i),
      }),
    );
    const rows = tables.get('AE')!;
    const keys = Object.keys(rows[0]!);
    expect(keys[keys.indexOf(sev.variableName) + 1]).toBe(`${sev.variableName}_label`);
    for (const row of rows) {
      const code = row[sev.variableName];
      expect(row[`${sev.variableName}_label`]).toBe(
        code === null ? null : ((labels as Record<string, string>)[String(code)] ?? null),
      );
    }
    expect(issues.length).toBe(rows.filter((r) => r[sev.variableName] === '3').length);
    expect(issues.every((i) => i.kind === 'unknown-code')).toBe(true);
  });

  it('the long layout has a row per value present, as the API sent it', async () => {
    const records = [...study.records].slice(0, 300);
    const { tables } = await collect(
      mapRecords(sdk(records), structureOf(), { layout: 'long', batchSize: 250 }),
    );
    const rows = tables.get('records')!;
    const values = records.flatMap((r) => Object.entries(r.recordData).map(([k, v]) => [r.recordId, k, v]));
    expect(rows.map((r) => [r.recordId, r.variableName, r.value])).toEqual(values);
    const withLabel = rows.find((r) => r.variableName === 'aeterm');
    expect(withLabel?.variableLabel).toBe('Adverse event term');
  });

  it('streams: holds at most one partly filled batch per table, pulling records only as batches are taken', async () => {
    let pulled = 0;
    const records = sdk([...study.records]);
    async function* source() {
      for (const r of records) {
        pulled++;
        yield r;
      }
    }
    const batchSize = 20;
    const iterator = mapRecords(source(), structureOf(), { batchSize })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.rows.length).toBe(batchSize);
    // Until the first batch was full, each form's buffer held fewer than batchSize rows.
    expect(pulled).toBeLessThanOrEqual(study.forms.length * (batchSize - 1) + 1);
    await iterator.return?.(undefined);
    expect(pulled).toBeLessThan(records.length);
  });

  it('maps the sync cache’s chunks of records to the same rows as the API’s records', async () => {
    const Both = Imednet.plugin(workflows(), sync({ storage: memoryStorage() }));
    const c = new Both({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
    await c.cache.syncRecords('DEMO');
    const structure = await c.workflows.structure('DEMO');
    const live = [...study.records].filter((r) => r.deleted !== true);
    const fromCache = await collect(mapRecords(c.cache.iterateRecords('DEMO'), structure));
    const fromApi = await collect(mapRecords(sdk(live), structure));
    expect([...fromCache.tables.keys()].sort()).toEqual([...fromApi.tables.keys()].sort());
    for (const [name, rows] of fromApi.tables) expect(fromCache.tables.get(name)).toEqual(rows);
  });

  it('reads dates exactly as the general date parser does, valid or not', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const samples: string[] = [
      '2024-02-29',
      '2023-02-29',
      '2024-02-30',
      '2025-12-31 23:59:59',
      '2025-12-31 24:00:00',
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const date = `${pad(1890 + rnd(240), 4)}-${pad(rnd(14))}-${pad(rnd(33))}`;
      const time = `${pad(rnd(26))}:${pad(rnd(62))}:${pad(rnd(62))}`;
      const sep = [' ', 'T', '_'][rnd(3)];
      samples.push(date, `${date}${sep}${time}`, `${date} ${time}`.slice(0, 16 + rnd(4)));
    }
    for (const text of samples) {
      const expected = parseApiDate(text);
      for (const type of ['date', 'datetime'] as const) {
        const got = convertValue(type, text);
        const wanted = type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(text) ? undefined : expected;
        if (wanted === undefined) expect(got instanceof Date, `${type} ${text}`).toBe(false);
        else expect((got as Date).getTime(), `${type} ${text}`).toBe(wanted.getTime());
      }
    }
  });
});
