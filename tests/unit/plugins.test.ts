import { describe, expect, expectTypeOf, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import type { Plugin } from '../../src/core/plugins.js';

const page = (data: unknown[]) =>
  new Response(
    JSON.stringify({
      metadata: { status: 'OK' },
      pagination: { currentPage: 0, size: 500, totalPages: 1, totalElements: data.length },
      data,
    }),
    {
      status: 200,
      headers: { 'content-type': 'application/json' },
    },
  );

/** A plugin that counts responses through ky's afterResponse hook and adds typed methods. */
const metrics = (() => {
  const plugin = (client: Imednet, options: { auditTag?: string }) => {
    const statuses: number[] = [];
    client.addHooks({
      beforeRequest: [(request) => request.headers.set('x-audit-tag', options.auditTag ?? 'none')],
      afterResponse: [(_request, _options, response) => void statuses.push(response.status)],
    });
    return { metrics: { statuses, tag: () => options.auditTag } };
  };
  return plugin satisfies Plugin<Imednet>;
})();

/** A site with every field the API always sends. */
const SITE = {
  studyKey: 'S1',
  siteId: 1,
  siteName: 'One',
  dateCreated: '2025-01-01 00:00:00',
  dateModified: '2025-01-01 00:00:00',
};

const greeter = () => ({ greet: (name: string) => `hello ${name}` });
const silent = () => undefined;

describe('plugin host', () => {
  it('applies plugins, types their additions and runs their ky hooks', async () => {
    const seenHeaders: string[] = [];
    const Client = Imednet.plugin(metrics, greeter, silent);
    const client = new Client({
      apiKey: 'k',
      securityKey: 's',
      auditTag: 'study-42',
      fetch: async (input) => {
        seenHeaders.push(new Request(input).headers.get('x-audit-tag') ?? '');
        return page([SITE]);
      },
    });

    expectTypeOf(client.metrics.statuses).toEqualTypeOf<number[]>();
    // The plugin's second parameter types the new option; the core options stay checked.
    expectTypeOf<ConstructorParameters<typeof Client>[0]['auditTag']>().toEqualTypeOf<string | undefined>();
    // @ts-expect-error: auditTag is a string
    void (() => new Client({ apiKey: 'k', securityKey: 's', auditTag: 42 }));
    // @ts-expect-error: no plugin reads auditTg
    void (() => new Client({ apiKey: 'k', securityKey: 's', auditTg: 'x' }));
    // @ts-expect-error: both keys are still required
    void (() => new Client({ apiKey: 'k', auditTag: 'x' }));
    // @ts-expect-error: the plain client has no plugin that reads auditTag
    void (() => new Imednet({ apiKey: 'k', securityKey: 's', auditTag: 'x' }));
    expectTypeOf(client.greet).toEqualTypeOf<(name: string) => string>();
    expectTypeOf(client.sites.list).toBeFunction();
    expect(client.greet('x')).toBe('hello x');
    expect(client.metrics.tag()).toBe('study-42');

    const sites = await client.sites.list('S1').toArray();
    expect(sites).toEqual([SITE]);
    expect(client.metrics.statuses).toEqual([200]);
    expect(seenHeaders).toEqual(['study-42']);
    expect(client).toBeInstanceOf(Imednet);
  });

  it('accumulates plugins over chained calls and leaves the base class untouched', () => {
    const A = Imednet.plugin(greeter);
    const B = A.plugin(metrics);
    const b = new B({ apiKey: 'k', securityKey: 's' });
    expectTypeOf(b.greet).toBeFunction();
    expectTypeOf(b.metrics).toBeObject();
    expect(typeof b.greet).toBe('function');
    expect(typeof b.metrics).toBe('object');
    expect(Imednet.plugins).toHaveLength(0);
    expect(A.plugins).toHaveLength(1);
    expect(B.plugins).toHaveLength(2);
    const plain = new Imednet({ apiKey: 'k', securityKey: 's' });
    expect('greet' in plain).toBe(false);
  });
});
