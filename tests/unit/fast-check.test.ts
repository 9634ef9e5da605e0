// The validation fast path hands a conforming body on unchanged instead of letting valibot copy it.
// It is only right if it agrees with valibot: whatever it accepts, valibot accepts and returns equal
// to the input. Checked on every resource's real items from the mock, and on thousands of random
// mutations of them (missing keys, nulls, wrong types, unknown keys, prototype keys, NaN).
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { fastCheck } from '../../src/core/fast-check.js';
import { parseResponse } from '../../src/core/schema.js';
import { PaginationSchema } from '../../src/endpoints/fields.js';
import {
  CodingSchema,
  FormSchema,
  IntervalSchema,
  QuerySchema,
  RecordRevisionSchema,
  RecordSchema,
  SiteSchema,
  StudySchema,
  SubjectSchema,
  UserSchema,
  VariableSchema,
  VisitSchema,
} from '../../src/index.js';
import { createRandom } from '../../src/testing/index.js';
import { call, listPath, setup } from './testing/helpers.js';

const RESOURCES: [string, v.GenericSchema][] = [
  ['sites', SiteSchema],
  ['forms', FormSchema],
  ['intervals', IntervalSchema],
  ['visits', VisitSchema],
  ['subjects', SubjectSchema],
  ['users', UserSchema],
  ['variables', VariableSchema],
  ['codings', CodingSchema],
  ['queries', QuerySchema],
  ['recordRevisions', RecordRevisionSchema],
  ['records', RecordSchema],
];

async function realItems(): Promise<[string, v.GenericSchema, unknown[]][]> {
  const { api } = setup({ records: 200, subjects: 12, seed: 11 });
  const out: [string, v.GenericSchema, unknown[]][] = [];
  const studies = await call(api, '/studies');
  out.push(['studies', StudySchema, studies.body.data]);
  for (const [name, schema] of RESOURCES) {
    const answer = await call(api, listPath(name, { size: 100 }));
    expect(answer.status, name).toBe(200);
    out.push([name, schema, answer.body.data]);
  }
  return out;
}

const OTHER_VALUES = [null, 'text', 7, 0, true, false, [], [1], {}, { nested: 1 }, Number.NaN, undefined];

/** A random path into a JSON value: the keys and indexes down to some node. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) pathsOf(item, [...prefix, i], out);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  }
  return out;
}

function mutate(item: unknown, random: ReturnType<typeof createRandom>): unknown {
  const copy = structuredClone(item) as Record<string, unknown>;
  const paths = pathsOf(copy).filter((p) => p.length > 0);
  const path = paths[random.int(0, paths.length - 1)]!;
  let parent: any = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path[path.length - 1]!;
  const kind = random.int(0, 3);
  if (kind === 0 && !Array.isArray(parent)) delete parent[last];
  else if (kind === 1) parent[last] = OTHER_VALUES[random.int(0, OTHER_VALUES.length - 1)];
  else if (kind === 2 && !Array.isArray(parent)) parent.addedLater = 'kept';
  else if (typeof parent === 'object' && parent !== null && !Array.isArray(parent)) {
    // An own `__proto__` key, as JSON.parse makes it: valibot leaves it out of what it builds.
    Object.assign(parent, JSON.parse('{"__proto__": {"polluted": true}}'));
    Object.defineProperty(parent, '__proto__', {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  } else parent[last] = null;
  return copy;
}

describe('response validation fast path', () => {
  it('compiles every resource schema and the page envelope (so the fast path is taken at all)', () => {
    for (const [, schema] of RESOURCES) expect(fastCheck(schema)).toBeTypeOf('function');
    for (const schema of [StudySchema, PaginationSchema]) expect(fastCheck(schema)).toBeTypeOf('function');
    const envelope = v.looseObject({ pagination: PaginationSchema, data: v.array(RecordSchema) });
    expect(fastCheck(envelope)).toBeTypeOf('function');
  });

  it("accepts every real item of every resource, and valibot's output equals it", async () => {
    for (const [name, schema, items] of await realItems()) {
      expect(items.length, name).toBeGreaterThan(0);
      for (const item of items) {
        expect(fastCheck(schema)!(item), name).toBe(true);
        expect(v.parse(schema, item), name).toEqual(item);
      }
    }
  });

  it('never accepts what valibot refuses, and what it accepts valibot returns unchanged (6,000 mutations)', async () => {
    const random = createRandom(2026);
    let accepted = 0;
    let refused = 0;
    for (const [name, schema, items] of await realItems()) {
      const check = fastCheck(schema)!;
      for (let n = 0; n < 500; n++) {
        const item = mutate(items[random.int(0, items.length - 1)], random);
        const result = v.safeParse(schema, item);
        if (check(item)) {
          accepted++;
          expect(result.success, `${name}: ${JSON.stringify(item)}`).toBe(true);
          expect(result.output, name).toEqual(item);
        } else refused++;
      }
    }
    // Both sides were exercised: the mutations are neither all harmless nor all fatal.
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });

  it('parseResponse returns the very object it was given when it conforms, and a copy-free error otherwise', () => {
    const body = { pagination: { totalPages: 1, totalElements: 1 }, data: [{ siteId: 1 }] };
    const loose = v.looseObject({ pagination: PaginationSchema, data: v.array(v.unknown()) });
    expect(parseResponse(loose, body, 'page')).toBe(body);
    const strict = v.looseObject({ pagination: PaginationSchema, data: v.array(SiteSchema) });
    expect(() => parseResponse(strict, body, 'site page')).toThrow(/did not match its schema: data\.0\./);
  });

  it('leaves schemas it cannot judge to valibot: pipes, defaults and strict objects', () => {
    expect(fastCheck(v.pipe(v.string(), v.trim()))).toBeUndefined();
    expect(fastCheck(v.nullish(v.string(), 'x'))).toBeUndefined();
    expect(fastCheck(v.object({ a: v.string() }))).toBeUndefined();
    expect(fastCheck(v.looseObject({ a: v.pipe(v.string(), v.toUpperCase()) }))).toBeUndefined();
    const upper = v.looseObject({ a: v.pipe(v.string(), v.toUpperCase()) });
    expect(parseResponse(upper, { a: 'x' }, 'thing')).toEqual({ a: 'X' });
  });
});
