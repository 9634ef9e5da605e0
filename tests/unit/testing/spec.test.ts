import { describe, expect, it } from 'vitest';
import { createFakeStudy, createMockApi } from '../../../src/testing/index.js';
import { readOpenApi } from '../../support/openapi.js';
import { call, post } from './helpers.js';

const spec = readOpenApi();

type Schema = {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema;
};

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').pop()!;
  return spec.components.schemas[name];
}

/** Collects every place where `value` does not carry a field of `schema` with the right type. */
function mismatches(
  value: unknown,
  schema: Schema,
  at: string,
  nulls: Map<string, number>,
  out: string[],
): void {
  const s = resolve(schema);
  if (value === null) {
    if (s.nullable) nulls.set(at, (nulls.get(at) ?? 0) + 1);
    else out.push(`${at} is null`);
    return;
  }
  switch (s.type) {
    case 'integer':
      if (!Number.isInteger(value)) out.push(`${at} is not an integer: ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') out.push(`${at} is not a number`);
      return;
    case 'string':
      if (typeof value !== 'string') out.push(`${at} is not a string: ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${at} is not a boolean`);
      return;
    case 'array':
      if (!Array.isArray(value)) out.push(`${at} is not an array`);
      else for (const v of value) mismatches(v, s.items ?? {}, `${at}[]`, nulls, out);
      return;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        out.push(`${at} is not an object`);
        return;
      }
      for (const [name, property] of Object.entries(s.properties ?? {})) {
        if (!(name in (value as object))) out.push(`${at}.${name} is missing`);
        else mismatches((value as Record<string, unknown>)[name], property, `${at}.${name}`, nulls, out);
      }
    }
  }
}

function nullablePaths(schema: Schema, at: string, out: string[]): void {
  const s = resolve(schema);
  if (s.nullable) out.push(at);
  if (s.type === 'object')
    for (const [n, p] of Object.entries(s.properties ?? {})) nullablePaths(p, `${at}.${n}`, out);
}

const listPaths = Object.entries(spec.paths as Record<string, any>).filter(
  ([, item]) => item.get && !item.get.parameters.some((p: any) => p.$ref?.endsWith('BatchIdPath')),
);

describe('the mock against the OpenAPI spec', () => {
  const study = createFakeStudy({ studyKey: 'SPEC', records: 3000, subjects: 60, users: 12 });
  const api = createMockApi(study);

  it('covers every GET list path', () => {
    expect(listPaths.map(([p]) => p).sort()).toEqual(
      [
        '/studies',
        ...[
          'codings',
          'forms',
          'intervals',
          'queries',
          'recordRevisions',
          'records',
          'sites',
          'subjects',
          'users',
          'variables',
          'visits',
        ].map((r) => `/studies/{studyKey}/${r}`),
      ].sort(),
    );
  });

  for (const [path, item] of listPaths) {
    it(`serves every field of every item on ${path}`, async () => {
      const response = item.get.responses['200'].content['application/json'];
      const itemSchema: Schema = response.schema.properties.data.items;
      const url = `${path.replace('{studyKey}', 'SPEC')}?size=500${path.endsWith('users') ? '&includeInactive=true' : ''}`;
      const answer = await call(api, url);
      expect(answer.status).toBe(200);

      // The envelope has the example's shape, block for block.
      const exampleRef: string = Object.values(response.examples as Record<string, { $ref: string }>)[0]!
        .$ref;
      const example = spec.components.examples[exampleRef.split('/').pop()!].value;
      expect(Object.keys(answer.body).sort()).toEqual(Object.keys(example).sort());
      expect(Object.keys(answer.body.metadata).sort()).toEqual(Object.keys(example.metadata).sort());
      expect(Object.keys(answer.body.pagination).sort()).toEqual(Object.keys(example.pagination).sort());
      const errors: string[] = [];
      const nulls = new Map<string, number>();
      // A success carries an empty error object, as the examples do; its fields are for failures.
      const { error, ...metadata } = answer.body.metadata;
      expect(error).toEqual({});
      mismatches(
        { ...metadata, error: { message: '' } },
        { $ref: '#/components/schemas/Metadata' },
        'metadata',
        nulls,
        errors,
      );
      mismatches(
        answer.body.pagination,
        { $ref: '#/components/schemas/Pagination' },
        'pagination',
        nulls,
        errors,
      );
      expect(answer.body.data.length).toBeGreaterThan(0);
      for (const one of answer.body.data) mismatches(one, itemSchema, 'item', nulls, errors);
      expect([...new Set(errors)]).toEqual([]);

      // Nullable fields are sometimes null, and not always.
      const nullable: string[] = [];
      nullablePaths(itemSchema, 'item', nullable);
      for (const at of nullable) {
        const count = nulls.get(at) ?? 0;
        expect(count, `${at} is never null`).toBeGreaterThan(0);
        expect(count, `${at} is always null`).toBeLessThan(answer.body.data.length);
      }
    });
  }

  it('serves RecordJobStatus and Job with every field', async () => {
    const accepted = await post(
      api,
      [{ formKey: 'AE', subjectKey: study.subjects[0]!.subjectKey, data: { aeterm: 'Cough' } }],
      'SPEC',
    );
    expect(accepted.status).toBe(202);
    const errors: string[] = [];
    mismatches(accepted.body, { $ref: '#/components/schemas/RecordJobStatus' }, 'status', new Map(), errors);
    let job = await call(api, `/studies/SPEC/jobs/${accepted.body.batchId}`);
    while (job.body.state !== 'completed')
      job = await call(api, `/studies/SPEC/jobs/${accepted.body.batchId}`);
    mismatches(job.body, { $ref: '#/components/schemas/Job' }, 'job', new Map(), errors);
    expect(errors).toEqual([]);
  });

  it('answers errors with the Metadata schema, details under metadata.error', async () => {
    const errors: string[] = [];
    for (const path of ['/studies/NOPE/sites', '/studies/SPEC/sites?size=999']) {
      const answer = await call(api, path);
      expect(Object.keys(answer.body)).toEqual(['metadata']);
      mismatches(
        answer.body.metadata,
        { $ref: '#/components/schemas/Metadata' },
        'metadata',
        new Map(),
        errors,
      );
      expect(answer.body.metadata.status).toBe('ERROR');
      expect(typeof answer.body.metadata.error.message).toBe('string');
      expect(typeof answer.body.metadata.error.code).toBe('string');
    }
    expect(errors).toEqual([]);
  });
});
