/**
 * The contract: `../shared/api/mednet-openapi.yaml` is the source of truth. This proves that
 * (1) the SDK's schemas declare every property of every spec schema and accept every spec example,
 * (2) the mock API answers every path with bodies that match the spec's response schemas (types,
 * nullability, no undeclared fields), including its error envelopes, and accepts the spec's
 * request examples, and (3) the client reads the spec's own examples end to end.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { CodingSchema } from '../../src/endpoints/codings.js';
import { KeywordSchema } from '../../src/endpoints/fields.js';
import { FormSchema } from '../../src/endpoints/forms.js';
import { IntervalFormSchema, IntervalSchema } from '../../src/endpoints/intervals.js';
import { JobSchema } from '../../src/endpoints/jobs.js';
import { QueryCommentSchema, QuerySchema } from '../../src/endpoints/queries.js';
import { RecordRevisionSchema } from '../../src/endpoints/record-revisions.js';
import { RecordJobStatusSchema, RecordSchema } from '../../src/endpoints/records.js';
import { SiteSchema } from '../../src/endpoints/sites.js';
import { StudySchema } from '../../src/endpoints/studies.js';
import { SubjectSchema } from '../../src/endpoints/subjects.js';
import { RoleSchema, UserSchema } from '../../src/endpoints/users.js';
import { VariableSchema } from '../../src/endpoints/variables.js';
import { VisitSchema } from '../../src/endpoints/visits.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
} from '../../src/testing/index.js';
import { readOpenApi } from '../support/openapi.js';

type OpenApiSchema = {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: boolean | OpenApiSchema;
  required?: string[];
};

const spec = readOpenApi();
const components: Record<string, OpenApiSchema> = spec.components.schemas;

function resolve(schema: OpenApiSchema): OpenApiSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').at(-1)!;
  const target = spec.components.schemas[name] ?? spec.components.responses[name];
  if (!target) throw new Error(`unresolved ${schema.$ref}`);
  return resolve(target);
}

/** Checks `value` against an OpenAPI schema: types, nullability, and no undeclared properties. */
function check(value: unknown, raw: OpenApiSchema, path: string, problems: string[]): void {
  const schema = resolve(raw);
  if (value === null) {
    if (!schema.nullable) problems.push(`${path}: null but not nullable`);
    return;
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${path}: expected object`);
        return;
      }
      const props = schema.properties ?? {};
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (props[key]) check(child, props[key], `${path}.${key}`, problems);
        else if (!schema.additionalProperties) problems.push(`${path}.${key}: not declared in the spec`);
      }
      for (const key of schema.required ?? [])
        if (!(key in (value as object))) problems.push(`${path}.${key}: required`);
      return;
    }
    case 'array':
      if (!Array.isArray(value)) problems.push(`${path}: expected array`);
      else
        for (const [i, item] of value.entries()) check(item, schema.items ?? {}, `${path}[${i}]`, problems);
      return;
    case 'integer':
      if (!Number.isInteger(value)) problems.push(`${path}: expected integer`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: expected number`);
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: expected string`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected boolean`);
      return;
    default:
      return;
  }
}

const SDK_SCHEMAS: Record<string, v.GenericSchema> = {
  Study: StudySchema,
  Site: SiteSchema,
  Form: FormSchema,
  Interval: IntervalSchema,
  Visit: VisitSchema,
  Subject: SubjectSchema,
  Keyword: KeywordSchema,
  User: UserSchema,
  Role: RoleSchema,
  Variable: VariableSchema,
  Coding: CodingSchema,
  Query: QuerySchema,
  QueryComment: QueryCommentSchema,
  RecordRevision: RecordRevisionSchema,
  Record: RecordSchema,
  RecordJobStatus: RecordJobStatusSchema,
  Job: JobSchema,
};

const entriesOf = (schema: v.GenericSchema) =>
  Object.keys((schema as unknown as { entries: object }).entries);

describe('SDK schemas against the spec', () => {
  it('cover every resource schema of the spec', () => {
    const resources = Object.keys(components).filter(
      (name) => !['Metadata', 'Pagination', 'Sort', 'RecordCreateRequest'].includes(name),
    );
    expect(resources.sort()).toEqual(Object.keys(SDK_SCHEMAS).sort());
  });

  it.each(Object.entries(SDK_SCHEMAS))(
    '%s declares every property of the spec, and no other',
    (name, schema) => {
      expect(entriesOf(schema).sort()).toEqual(Object.keys(components[name]!.properties ?? {}).sort());
    },
  );

  it('interval forms declare the spec item properties', () => {
    const item = components.Interval!.properties!.forms!.items!;
    expect(entriesOf(IntervalFormSchema).sort()).toEqual(Object.keys(item.properties!).sort());
  });

  const listExamples = Object.entries(spec.components.examples as Record<string, { value: any }>).filter(
    ([, e]) => Array.isArray(e.value?.data),
  );

  it('there is a list example for every list path', () => {
    expect(listExamples.length).toBe(12);
  });

  it.each(listExamples)('accept every item of %s unchanged', (name, example) => {
    const path: string = example.value.metadata.path;
    const resource = path.split('/').at(-1)!;
    const schemaName = {
      studies: 'Study',
      sites: 'Site',
      forms: 'Form',
      intervals: 'Interval',
      visits: 'Visit',
      subjects: 'Subject',
      users: 'User',
      variables: 'Variable',
      codings: 'Coding',
      queries: 'Query',
      recordRevisions: 'RecordRevision',
      records: 'Record',
    }[resource]!;
    for (const item of example.value.data) {
      const result = v.safeParse(SDK_SCHEMAS[schemaName]!, item);
      expect(
        result.success,
        `${name}: ${JSON.stringify(result.issues?.map((i) => i.path?.map((p) => p.key)))}`,
      ).toBe(true);
      // Unknown fields kept, nothing invented: the output equals the input.
      expect(result.output).toEqual(item);
    }
  });

  it('accept the job examples', () => {
    expect(v.safeParse(JobSchema, spec.components.examples.ExampleJobStatus.value).success).toBe(true);
    expect(
      v.safeParse(RecordJobStatusSchema, spec.components.examples.ExamplePostRecordResponse.value).success,
    ).toBe(true);
  });
});

describe('the mock API against the spec', () => {
  const study = createFakeStudy({ studyKey: 'PHARMADEMO', records: 400, subjects: 30 });
  const api = createMockApi(study);
  const headers = { 'x-api-key': DEFAULT_API_KEY, 'x-imn-security-key': DEFAULT_SECURITY_KEY };
  const call = (method: string, path: string, init: RequestInit = {}) =>
    api.handle(
      new Request(`http://mock.test/api/v1/edc${path}`, {
        method,
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string>) },
      }),
    );
  const getPaths = Object.entries(spec.paths as Record<string, any>).filter(
    ([p, ops]) => ops.get && !p.includes('{batchId}'),
  );

  it.each(getPaths)('GET %s answers the documented 200 shape', async (template, ops) => {
    const path = template.replace('{studyKey}', 'PHARMADEMO');
    const response = await call('GET', `${path}?size=200`);
    expect(response.status).toBe(200);
    const body = await response.json();
    const problems: string[] = [];
    check(body, ops.get.responses['200'].content['application/json'].schema, 'body', problems);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(body.data.length).toBeGreaterThan(0);
  });

  it('answers every documented error status with the documented envelope', async () => {
    const cases: Array<[number, Promise<Response>]> = [
      [400, call('GET', '/studies/PHARMADEMO/sites?size=501')],
      [401, api.handle(new Request('http://mock.test/api/v1/edc/studies'))],
      [404, call('GET', '/studies/NOPE/sites')],
    ];
    for (const [status, pending] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      const body = await response.json();
      const name = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound' }[status]!;
      const problems: string[] = [];
      check(body, spec.components.responses[name].content['application/json'].schema, 'body', problems);
      expect(problems).toEqual([]);
      expect(typeof body.metadata.error.message).toBe('string');
    }
  });

  it('accepts each request example of the records POST and runs the job to the documented shape', async () => {
    const subject = study.subjects[0]!;
    const examples =
      spec.paths['/studies/{studyKey}/records'].post.requestBody.content['application/json'].examples;
    for (const ref of Object.values(examples as Record<string, { $ref: string }>)) {
      const example = structuredClone(spec.components.examples[ref.$ref.split('/').at(-1)!].value);
      // point the examples at things that exist in the fake study
      for (const item of example) {
        if (item.siteName) item.siteName = study.sites[0]!.siteName;
        if (item.subjectKey) item.subjectKey = subject.subjectKey;
        if (item.intervalName) item.intervalName = study.intervals[0]!.intervalName;
      }
      const response = await call('POST', '/studies/PHARMADEMO/records', {
        body: JSON.stringify(example),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(202);
      const accepted = await response.json();
      const problems: string[] = [];
      check(accepted, components.RecordJobStatus!, 'body', problems);
      const job = await (await call('GET', `/studies/PHARMADEMO/jobs/${accepted.batchId}`)).json();
      check(job, components.Job!, 'job', problems);
      expect(problems).toEqual([]);
    }
  });
});

describe('the client reads the spec examples end to end', () => {
  it('lists every example through a fetch that answers with the example body', async () => {
    const bodies = new Map<string, unknown>();
    for (const example of Object.values(spec.components.examples as Record<string, { value: any }>)) {
      if (Array.isArray(example.value?.data))
        bodies.set(example.value.metadata.path.split('/').at(-1), example.value);
    }
    const client = new Imednet({
      apiKey: 'k',
      securityKey: 's',
      baseUrl: 'https://spec.test',
      fetch: async (input) => {
        const resource = new URL(new Request(input).url).pathname.split('/').at(-1)!;
        return new Response(JSON.stringify(bodies.get(resource)), { status: 200 });
      },
    });
    const studies = await client.studies.list().toArray();
    expect(studies[0]!.studyKey).toBe('PHARMADEMO');
    const visits = await client.visits.list('PHARMADEMO').toArray();
    expect(visits[0]!.dueDate).toBeNull();
    const users = await client.users.list('MOCK-STUDY').toArray();
    expect(users[0]!.roles![0]!.dateCreated).toEqual([2025, 6, 5, 21, 12, 7, 625000000]);
    const records = await client.records.list('PHARMADEMO').toArray();
    expect(records[0]!.recordData).toEqual(
      bodies.get('records') && (bodies.get('records') as any).data[0].recordData,
    );
    const queries = await client.queries.list('PHARMADEMO').toArray();
    expect(queries[0]!.type).toBeNull();
  });
});
