// Type-level checks: `npx tsc --noEmit -p .` compiles this file (tsconfig includes tests), so every
// `@ts-expect-error` below fails the type check if the error it expects goes away. The runtime
// cases show the schema still checks what the types promise.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { ResponseValidationError } from '../../src/core/errors.js';
import type { Record as ImednetRecord, Site, Subject, User, Visit } from '../../src/index.js';
import { useMockApi } from './support.js';

const mock = useMockApi({ records: 300, subjects: 12 });

/** A client whose fetch rewrites every listed item with `edit` before the SDK parses it. */
function clientEditing(edit: (item: Record<string, unknown>) => void) {
  const editing: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const body = (await response.json()) as { data?: Record<string, unknown>[] };
    for (const item of body.data ?? []) edit(item);
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
  return mock.client({ fetch: editing });
}

describe('item types', () => {
  it('give the fields the API always sends their plain type, and keep the rest optional', () => {
    expectTypeOf<ImednetRecord['recordId']>().toEqualTypeOf<number>();
    expectTypeOf<ImednetRecord['formKey']>().toEqualTypeOf<string>();
    expectTypeOf<ImednetRecord['dateModified']>().toEqualTypeOf<string>();
    expectTypeOf<Subject['subjectKey']>().toEqualTypeOf<string>();
    expectTypeOf<Site['siteName']>().toEqualTypeOf<string>();
    expectTypeOf<User['userId']>().toEqualTypeOf<string>();
    expectTypeOf<Visit['subjectId']>().toEqualTypeOf<number>();
    // Silent in the spec, or null in its examples: optional and nullable.
    expectTypeOf<ImednetRecord['subjectKey']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<Visit['dueDate']>().toEqualTypeOf<string | null | undefined>();
  });

  it('fail a page whose item lacks an always-sent field, instead of typing a lie', async () => {
    const missing = await clientEditing((item) => delete item.recordId)
      .records.list('DEMO', { pageSize: 5 })
      .toArray()
      .catch((e) => e);
    expect(missing).toBeInstanceOf(ResponseValidationError);
    expect(missing.issues[0].path).toBe('data.0.recordId');
    const nulled = await clientEditing((item) => {
      item.subjectKey = null;
    })
      .subjects.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(nulled).toBeInstanceOf(ResponseValidationError);
  });

  it('keep unknown fields and leave absent optional fields absent', async () => {
    const [record] = await clientEditing((item) => {
      item.futureField = 'kept';
      delete item.subjectOid;
    })
      .records.list('DEMO', { pageSize: 1 })
      .pages()
      .next()
      .then((page) => page.value!.items);
    expect(record).toMatchObject({ futureField: 'kept' });
    expect(record).not.toHaveProperty('subjectOid');
  });
});

describe('filter and sort keys', () => {
  const client = new Imednet({ apiKey: 'a', securityKey: 'b', baseUrl: 'https://edc.test.example' });

  it('accept the fields of the resource listed', () => {
    client.records.list('S', {
      filter: { formKey: 'AE', deleted: false, dateModified: { gte: new Date('2025-01-01') } },
      sort: ['-dateModified', 'recordId', 'siteId,desc', { field: 'formKey', direction: 'asc' }],
    });
    client.subjects.list('S', { filter: [{ siteId: 3 }, { subjectStatus: 'Enrolled' }], sort: 'subjectKey' });
    client.studies.list({ filter: { studyKey: 'S' }, sort: '-dateCreated' });
    client.users.list('S', { sort: 'login' });
    client.records.list('S', { filter: { formKey: { in: ['AE', 'CM'] }, siteId: { in: [1, 2] } } });
    // A raw filter string is passed through unchecked; recordData values are any variable name.
    client.records.list('S', { filter: 'formKye==AE', recordDataFilter: { anyVariable: 'Y' } });
    expect(true).toBe(true);
  });

  it('reject misspelt fields at compile time', () => {
    // @ts-expect-error: formKye is not a record field
    client.records.list('S', { filter: { formKye: 'AE' } });
    // @ts-expect-error: in an OR group too
    client.records.list('S', { filter: [{ formKey: 'AE' }, { formKye: 'CM' }] });
    // @ts-expect-error: with "in" as well
    client.records.list('S', { filter: { formKye: { in: ['AE', 'CM'] } } });
    // @ts-expect-error: dateModifed is not a record field
    client.records.list('S', { sort: ['-dateModifed'] });
    // @ts-expect-error: in the object form as well
    client.records.list('S', { sort: { field: 'dateModifed' } });
    // @ts-expect-error: siteName is a subject field, not a record field
    client.records.list('S', { filter: { siteName: 'Chicago Hope' } });
    // @ts-expect-error: recordData is an object, which the API cannot filter on
    client.records.list('S', { filter: { recordData: 'x' } });
    // @ts-expect-error: sites have no formKey
    client.sites.list('S', { sort: 'formKey' });
    // @ts-expect-error: users take no filter at all (and refuse one at run time)
    expect(() => client.users.list('S', { filter: { login: 'x' } })).toThrow(/no filter/);
    expect(true).toBe(true);
  });
});
