/**
 * `imednet/storage/conformance`: the behaviour every {@link StorageAdapter} must show, as plain
 * async functions with no test-runner dependency. The project runs them under vitest, Bun, a
 * Cloudflare worker and a browser page; you can run them against your own adapter the same way:
 *
 * @example
 * for (const c of storageConformanceCases(async () => myAdapter())) {
 *   test(c.name, c.run); // or: await c.run() in any runtime
 * }
 */
import type { StorageAdapter, StorageOperation } from './types.js';

/** One named conformance check; `run` rejects with a descriptive Error when the adapter misbehaves. */
export interface StorageConformanceCase {
  /** What behaviour the case pins down. */
  name: string;
  /** Creates its own adapter, exercises it, closes it; rejects on the first mismatch. */
  run: () => Promise<void>;
}

/**
 * The conformance cases for adapters made by `makeAdapter`. Each call must return a fresh, empty
 * store (a new in-memory store, a new database name, a new table prefix), because cases assert exact
 * contents and counts. Cases close the adapter they made.
 */
export function storageConformanceCases(
  makeAdapter: () => Promise<StorageAdapter>,
): StorageConformanceCase[] {
  const withAdapter = (body: (storage: StorageAdapter) => Promise<void>) => async (): Promise<void> => {
    const storage = await makeAdapter();
    try {
      await body(storage);
    } finally {
      // A case may already have closed it; a second close must not mask the case's own failure.
      await storage.close().catch(() => undefined);
    }
  };
  return CASES.map(([name, body]) => ({ name, run: withAdapter(body) }));
}

type CaseBody = (storage: StorageAdapter) => Promise<void>;

const CASES: Array<[string, CaseBody]> = [
  [
    'get returns undefined for an absent key, the value after put, and the new value after overwrite',
    async (s) => {
      equal(await s.get('items', 'a'), undefined, 'get before any put');
      await s.putMany('items', [['a', { v: 1 }]]);
      equal(await s.get('items', 'a'), { v: 1 }, 'get after put');
      await s.putMany('items', [['a', { v: 2, extra: 'x' }]]);
      equal(await s.get('items', 'a'), { v: 2, extra: 'x' }, 'get after overwrite');
      equal(await s.count('items'), 1, 'count after overwrite');
    },
  ],
  [
    'putMany with the same key twice keeps the last value; empty putMany, deleteMany and write are no-ops',
    async (s) => {
      await s.putMany('items', [
        ['k', 1],
        ['k', 2],
      ]);
      equal(await s.get('items', 'k'), 2, 'last entry wins');
      await s.putMany('items', []);
      await s.deleteMany('items', []);
      await s.write([]);
      equal(await s.count('items'), 1, 'count after no-op calls');
    },
  ],
  [
    'getMany answers in the order asked, with undefined for absent keys and repeats honoured',
    async (s) => {
      await s.putMany('items', [
        ['b', 'B'],
        ['a', 'A'],
        ['c', 'C'],
      ]);
      equal(await s.getMany('items', ['c', 'x', 'a', 'c', 'b', 'zz']), [
        'C',
        undefined,
        'A',
        'C',
        'B',
        undefined,
      ]);
      equal(await s.getMany('items', []), [], 'getMany of no keys');
      equal(await s.getMany('nothing-here', ['a']), [undefined], 'getMany on an unknown collection');
    },
  ],
  [
    'getMany and deleteMany handle more keys than one SQL statement binds (1,500)',
    async (s) => {
      const keys = range(1500).map((i) => `k${pad(i)}`);
      await s.putMany(
        'items',
        keys.map((k, i) => [k, i]),
      );
      const asked = [...keys].reverse();
      const values = await s.getMany<number>('items', asked);
      equal(values.length, 1500, 'getMany length');
      equal(values[0], 1499, 'first of the reversed getMany');
      equal(values[1499], 0, 'last of the reversed getMany');
      await s.deleteMany(
        'items',
        keys.filter((_, i) => i % 2 === 0),
      );
      equal(await s.count('items'), 750, 'count after deleting every other key');
    },
  ],
  [
    'deleteMany removes the listed keys and ignores absent ones',
    async (s) => {
      await s.putMany('items', [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ]);
      await s.deleteMany('items', ['a', 'missing', 'c', 'a']);
      equal(await s.getMany('items', ['a', 'b', 'c']), [undefined, 2, undefined]);
      equal(await s.count('items'), 1, 'count after deleteMany');
      await s.deleteMany('no-such-collection', ['x']);
    },
  ],
  [
    'scan yields every entry in key order across many batches (1,234 entries, batchSize 100)',
    async (s) => {
      const keys = range(1234).map((i) => `rec-${pad(i)}`);
      // Inserted out of order, in several calls, so order cannot come from insertion.
      const shuffled = shuffle(keys);
      for (let i = 0; i < shuffled.length; i += 300) {
        await s.putMany(
          'items',
          shuffled.slice(i, i + 300).map((k) => [k, { k }]),
        );
      }
      const batches = await collectBatches(s.scan<{ k: string }>('items', { batchSize: 100 }));
      equal(
        batches.map((b) => b.length),
        [...Array(12).fill(100), 34],
        'batch sizes',
      );
      const seen = batches.flat();
      equal(
        seen.map(([k]) => k),
        keys,
        'scanned keys',
      );
      for (const [k, v] of seen) if (v.k !== k) fail(`value of ${k} is ${JSON.stringify(v)}`);
      const defaults = await collectBatches(s.scan('items'));
      equal(
        defaults.map((b) => b.length),
        [500, 500, 234],
        'default batch size is 500',
      );
    },
  ],
  [
    'scan never yields a batch larger than batchSize, nor an empty batch',
    async (s) => {
      await s.putMany(
        'items',
        range(23).map((i) => [`k${pad(i)}`, i]),
      );
      for (const batchSize of [1, 2, 7, 22, 23, 24, 1000]) {
        const batches = await collectBatches(s.scan('items', { batchSize }));
        for (const b of batches) {
          if (b.length > batchSize) fail(`batchSize ${batchSize} yielded a batch of ${b.length}`);
          if (b.length === 0) fail(`batchSize ${batchSize} yielded an empty batch`);
        }
        equal(batches.flat().length, 23, `entries scanned with batchSize ${batchSize}`);
      }
      equal(
        await collectBatches(s.scan('empty-collection', { batchSize: 5 })),
        [],
        'scan of an empty collection',
      );
    },
  ],
  [
    'scan resumes strictly after `after`, whether or not that key exists',
    async (s) => {
      const keys = range(250).map((i) => `k${pad(i * 2)}`); // even numbers only
      await s.putMany(
        'items',
        keys.map((k) => [k, k]),
      );
      const afterExisting = (
        await collectBatches(s.scan('items', { after: 'k000100', batchSize: 30 }))
      ).flat();
      equal(afterExisting[0]?.[0], 'k000102', 'first key after an existing key');
      equal(afterExisting.length, 199, 'entries after an existing key');
      const afterGap = (await collectBatches(s.scan('items', { after: 'k000101', batchSize: 30 }))).flat();
      equal(afterGap[0]?.[0], 'k000102', 'first key after a key that is not stored');
      equal((await collectBatches(s.scan('items', { after: 'k999999' }))).flat(), [], 'after the last key');
      equal(
        (await collectBatches(s.scan('items', { after: '' }))).flat().length,
        250,
        'after the empty string',
      );
    },
  ],
  [
    'scan with prefix yields exactly the keys that start with it, and combines with after',
    async (s) => {
      const inside = range(150).map((i) => `study/A/${pad(i)}`);
      const outside = ['study/', 'study/A', 'study/A.', 'study/A0', 'study/B/000001', 'study/@', 'stud', 'z'];
      await s.putMany(
        'items',
        [...inside, ...outside].map((k) => [k, k]),
      );
      const all = (await collectBatches(s.scan('items', { prefix: 'study/A/', batchSize: 40 }))).flat();
      equal(
        all.map(([k]) => k),
        inside,
        'prefix scan',
      );
      const resumed = (
        await collectBatches(s.scan('items', { prefix: 'study/A/', after: inside[99]!, batchSize: 40 }))
      ).flat();
      equal(
        resumed.map(([k]) => k),
        inside.slice(100),
        'prefix scan resumed after a key inside the prefix',
      );
      const before = (await collectBatches(s.scan('items', { prefix: 'study/A/', after: 'study/' }))).flat();
      equal(before.length, 150, 'after a key sorting before the prefix');
      const beyond = (await collectBatches(s.scan('items', { prefix: 'study/A/', after: 'study/B' }))).flat();
      equal(beyond, [], 'after a key sorting past the prefix');
      equal(
        (await collectBatches(s.scan('items', { prefix: 'nope' }))).flat(),
        [],
        'prefix matching nothing',
      );
      equal((await collectBatches(s.scan('items', { prefix: '' }))).flat().length, 158, 'empty prefix');
    },
  ],
  [
    'count follows puts, overwrites, deletes and clears',
    async (s) => {
      equal(await s.count('items'), 0, 'count of an unknown collection');
      await s.putMany(
        'items',
        range(10).map((i) => [`k${i}`, i]),
      );
      equal(await s.count('items'), 10, 'after 10 puts');
      await s.putMany('items', [['k1', 'again']]);
      equal(await s.count('items'), 10, 'after an overwrite');
      await s.deleteMany('items', ['k1', 'k2']);
      equal(await s.count('items'), 8, 'after deleting 2');
      await s.clear('items');
      equal(await s.count('items'), 0, 'after clear');
    },
  ],
  [
    'write applies puts, deletes and clears across collections, in order',
    async (s) => {
      await s.putMany('a', [
        ['keep', 1],
        ['drop', 2],
      ]);
      await s.putMany('b', [['old', 1]]);
      await s.putMany('c', [['x', 1]]);
      const ops: StorageOperation[] = [
        { type: 'put', collection: 'a', key: 'new', value: { n: 1 } },
        { type: 'delete', collection: 'a', key: 'drop' },
        { type: 'delete', collection: 'a', key: 'never-there' },
        { type: 'clear', collection: 'b' },
        { type: 'put', collection: 'b', key: 'after-clear', value: true },
        { type: 'put', collection: 'c', key: 'y', value: 2 },
        { type: 'clear', collection: 'c' },
        { type: 'put', collection: 'd', key: 'k', value: 'first' },
        { type: 'put', collection: 'd', key: 'k', value: 'second' },
      ];
      await s.write(ops);
      equal(await entries(s, 'a'), [
        ['keep', 1],
        ['new', { n: 1 }],
      ]);
      equal(await entries(s, 'b'), [['after-clear', true]], 'put after clear in the same write survives');
      equal(await entries(s, 'c'), [], 'clear after put in the same write empties');
      equal(await entries(s, 'd'), [['k', 'second']], 'later put of the same key wins');
    },
  ],
  [
    'a write that fails midway (BigInt, circular object, undefined) applies nothing',
    async (s) => {
      await s.putMany('a', [['existing', 'before']]);
      await s.putMany('b', [['existing', 'before']]);
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      for (const [label, bad] of [
        ['a BigInt', { big: BigInt(1) }],
        ['a circular object', circular],
        ['undefined', undefined],
      ] as const) {
        await rejects(
          () =>
            s.write([
              { type: 'put', collection: 'a', key: 'fresh', value: 1 },
              { type: 'delete', collection: 'a', key: 'existing' },
              { type: 'clear', collection: 'b' },
              { type: 'put', collection: 'b', key: 'bad', value: bad },
              { type: 'put', collection: 'c', key: 'late', value: 3 },
            ]),
          `write with ${label}`,
        );
        equal(
          await entries(s, 'a'),
          [['existing', 'before']],
          `collection a after a failed write (${label})`,
        );
        equal(
          await entries(s, 'b'),
          [['existing', 'before']],
          `collection b after a failed write (${label})`,
        );
        equal(await s.count('c'), 0, `collection c after a failed write (${label})`);
      }
      await rejects(
        () =>
          s.putMany('a', [
            ['p1', 1],
            ['p2', { big: BigInt(2) }],
          ]),
        'putMany with a BigInt',
      );
      equal(await s.getMany('a', ['p1', 'p2']), [undefined, undefined], 'a failed putMany applies nothing');
    },
  ],
  [
    'clear(name) empties one collection; clear() empties all; the store stays usable',
    async (s) => {
      await s.putMany('a', [['1', 1]]);
      await s.putMany('b', [['1', 1]]);
      await s.putMany('c', [['1', 1]]);
      await s.clear('a');
      equal([await s.count('a'), await s.count('b'), await s.count('c')], [0, 1, 1], 'after clear(a)');
      await s.clear('never-used');
      await s.clear();
      equal([await s.count('a'), await s.count('b'), await s.count('c')], [0, 0, 0], 'after clear()');
      equal(await collectBatches(s.scan('b')), [], 'scan after clear()');
      await s.putMany('a', [['2', 2]]);
      equal(await entries(s, 'a'), [['2', 2]], 'put after clear');
    },
  ],
  [
    'collections are independent, including names that prefix one another',
    async (s) => {
      await s.putMany('a', [
        ['k', 'in a'],
        ['only-a', 1],
      ]);
      await s.putMany('ab', [['k', 'in ab']]);
      await s.putMany('a/b', [['k', 'in a/b']]);
      await s.putMany('A', [['k', 'in A']]);
      equal(await s.get('a', 'k'), 'in a');
      equal(await s.get('ab', 'k'), 'in ab');
      equal(await s.get('a/b', 'k'), 'in a/b');
      equal(await s.get('A', 'k'), 'in A');
      equal(await s.get('ab', 'only-a'), undefined, 'a key of one collection is absent from another');
      equal(
        (await entries(s, 'a')).map(([k]) => k),
        ['k', 'only-a'],
        'scan of a sees only a',
      );
      await s.deleteMany('ab', ['k']);
      equal(await s.get('a', 'k'), 'in a', 'delete in ab leaves a alone');
      await s.clear('a');
      equal(
        [await s.count('ab'), await s.count('a/b'), await s.count('A')],
        [0, 1, 1],
        'clear(a) leaves others',
      );
    },
  ],
  [
    'values round-trip exactly, and absent fields stay absent',
    async (s) => {
      const values: Array<[string, unknown]> = [
        ['object', { a: 1, nested: { deeper: { list: [1, 'two', null, { three: 3 }] } }, empty: {} }],
        ['array', [[], [[]], [1, [2, [3]]], { a: [] }]],
        ['unicode', 'naïve café — 日本語 — 😀 — \u0000 — \n\t"quoted" \\ back'],
        ['empty-string', ''],
        ['null', null],
        ['zero', 0],
        ['negative', -42],
        ['float', -271.828],
        ['float-sum', 0.1 + 0.2],
        ['tiny', 5e-324],
        ['huge', 1.7976931348623157e308],
        ['true', true],
        ['false', false],
        ['sparse-fields', { present: 1, alsoNull: null, emptyString: '', zero: 0, f: false }],
        [
          'record',
          { recordId: 7, recordData: { AETERM: 'Headache', AESEV: '' }, dateModified: '2025-01-01' },
        ],
      ];
      await s.putMany('values', values);
      for (const [key, value] of values) equal(await s.get('values', key), value, `value ${key}`);
      const sparse = await s.get<Record<string, unknown>>('values', 'sparse-fields');
      if (sparse && 'missing' in sparse) fail('a field that was never set came back');
      await s.putMany('values', [['with-undefined', { a: 1, gone: undefined }]]);
      const back = await s.get<Record<string, unknown>>('values', 'with-undefined');
      equal(back, { a: 1 }, 'an undefined field is dropped, as in JSON');
      if (back && 'gone' in back) fail('an undefined field came back as a present key');
      const scanned = await entries(s, 'values');
      for (const [key, value] of values) {
        equal(scanned.find(([k]) => k === key)?.[1], value, `scanned value ${key}`);
      }
    },
  ],
  [
    'stored values are copies: mutating what was put or what was read changes nothing',
    async (s) => {
      const original = { list: [1, 2], inner: { x: 1 } };
      await s.putMany('items', [['k', original]]);
      original.list.push(3);
      original.inner.x = 99;
      const read = await s.get<typeof original>('items', 'k');
      equal(read, { list: [1, 2], inner: { x: 1 } }, 'after mutating the original');
      read!.inner.x = 42;
      equal(await s.get('items', 'k'), { list: [1, 2], inner: { x: 1 } }, 'after mutating a read value');
    },
  ],
  [
    'keys with unicode, spaces, quotes, backslashes and SQL wildcards are exact, and never wildcards',
    async (s) => {
      const keys = [
        '',
        ' ',
        'a b',
        "it's",
        'say "hi"',
        'back\\slash',
        'a%b',
        'a%',
        'a_b',
        'a_',
        'aXb',
        'ab',
        'a',
        'naïve',
        '日本語',
        '😀 emoji',
        'tab\there',
        'x'.repeat(500),
      ];
      await s.putMany(
        'keys',
        keys.map((k, i) => [k, i]),
      );
      for (const [i, k] of keys.entries()) equal(await s.get('keys', k), i, `get ${JSON.stringify(k)}`);
      const scanned = (await entries(s, 'keys')).map(([k]) => k);
      equal(scanned, [...keys].sort(), 'scan order is JavaScript string order');
      equal(await prefixKeys(s, 'a%'), ['a%', 'a%b'], 'prefix a% (no LIKE wildcard)');
      equal(await prefixKeys(s, 'a_'), ['a_', 'a_b'], 'prefix a_ (no LIKE wildcard)');
      equal(await prefixKeys(s, "it'"), ["it's"], 'prefix with a quote');
      equal(await prefixKeys(s, 'back\\'), ['back\\slash'], 'prefix with a backslash');
      equal(await prefixKeys(s, '日本'), ['日本語'], 'prefix with CJK');
      equal(await prefixKeys(s, '😀'), ['😀 emoji'], 'prefix with an emoji');
      equal(await s.get('keys', 'A%B'), undefined, 'keys are case-sensitive');
      equal(await s.get('keys', 'a_'.toUpperCase()), undefined, 'no case folding');
      await s.deleteMany('keys', ['a_', 'a%']);
      equal(
        await s.getMany('keys', ['a_', 'a%', 'a_b', 'aXb']),
        [undefined, undefined, 8, 10],
        'exact deletes',
      );
    },
  ],
  [
    'tryLock/unlock: a second owner is refused until unlock or expiry; the holder may re-enter',
    async (s) => {
      if (!s.capabilities.locks) {
        if (s.tryLock || s.unlock) fail('capabilities.locks is false but tryLock/unlock are present');
        return;
      }
      const { tryLock, unlock } = s;
      if (!tryLock || !unlock) fail('capabilities.locks is true but tryLock/unlock are missing');
      const take = tryLock.bind(s);
      const release = unlock.bind(s);
      equal(await take('sync', 'A', 60_000), true, 'A takes a free lock');
      equal(await take('sync', 'B', 60_000), false, 'B is refused while A holds it');
      equal(await take('sync', 'A', 60_000), true, 'A re-enters its own lock');
      equal(await take('other', 'B', 60_000), true, 'locks with other names are independent');
      await release('sync', 'B');
      equal(await take('sync', 'B', 60_000), false, 'unlock by a non-owner releases nothing');
      await release('sync', 'A');
      equal(await take('sync', 'B', 60_000), true, 'B takes it after A unlocks');
      await release('never-taken', 'A');
      // Expiry: a short lock, refused to B while it lasts, then B's. A slow store (a busy machine, a
      // remote database) may take longer than the ttl between the two calls, which proves nothing;
      // then the check runs again with a longer ttl.
      for (let ttl = 50; ; ttl *= 4) {
        const name = `short-${ttl}`;
        const started = Date.now();
        equal(await take(name, 'A', ttl), true, 'A takes a short lock');
        const refused = !(await take(name, 'B', 60_000));
        if (Date.now() - started >= ttl) {
          if (ttl >= 3200) fail(`two tryLock calls took ${Date.now() - started} ms, too long to test expiry`);
          continue;
        }
        equal(refused, true, 'B is refused before expiry');
        await sleep(ttl + 80);
        equal(await take(name, 'B', 60_000), true, 'B takes it after the ttl expired');
        equal(await take(name, 'A', 60_000), false, 'and then A is refused');
        break;
      }
    },
  ],
  [
    'renewLock extends only its holder, even past expiry, and never takes a free or taken-over lock',
    async (s) => {
      if (!s.capabilities.locks) {
        if (s.renewLock) fail('capabilities.locks is false but renewLock is present');
        return;
      }
      const { tryLock, renewLock, unlock } = s;
      if (!tryLock || !renewLock || !unlock) fail('capabilities.locks is true but renewLock is missing');
      const take = tryLock.bind(s);
      const renew = renewLock.bind(s);
      equal(await renew('free', 'A', 60_000), false, 'renewLock does not take a free lock');
      equal(await take('free', 'B', 60_000), true, 'so B can still take it');
      equal(await take('held', 'A', 60_000), true, 'A takes a lock');
      equal(await renew('held', 'A', 60_000), true, 'A renews its own lock');
      equal(await renew('held', 'B', 60_000), false, "B cannot renew A's lock");
      // Past its expiry, but nobody took it: still A's.
      equal(await take('stalled', 'A', 30), true, 'A takes a short lock');
      await sleep(80);
      equal(await renew('stalled', 'A', 60_000), true, 'A renews its expired lock nobody took');
      equal(await take('stalled', 'B', 60_000), false, 'and B is refused again');
      // Taken over after expiry, or released: no longer A's to renew.
      equal(await take('lost', 'A', 30), true, 'A takes another short lock');
      await sleep(80);
      equal(await take('lost', 'B', 60_000), true, 'B takes it over once expired');
      equal(await renew('lost', 'A', 60_000), false, 'A cannot renew a lock B took over');
      await unlock.call(s, 'lost', 'B');
      equal(await renew('lost', 'A', 60_000), false, 'nor one B took and released');
    },
  ],
  [
    'writeLocked writes all or nothing, only while its owner holds the lock, and extends the lock',
    async (s) => {
      if (!s.capabilities.locks) {
        if (s.writeLocked) fail('capabilities.locks is false but writeLocked is present');
        return;
      }
      const { tryLock, writeLocked, unlock } = s;
      if (!tryLock || !writeLocked || !unlock) fail('capabilities.locks is true but writeLocked is missing');
      const take = tryLock.bind(s);
      const write = (name: string, owner: string, ops: StorageOperation[]) =>
        writeLocked.call(s, { name, owner, ttlMs: 60_000 }, ops);
      const put = (key: string, value: unknown): StorageOperation => ({
        type: 'put',
        collection: 'w',
        key,
        value,
      });
      equal(await write('never', 'A', [put('a', 0)]), false, 'no write under a lock nobody holds');
      equal(await take('held', 'A', 60_000), true, 'A takes a lock');
      equal(await write('held', 'A', [put('a', 1), put('b', 1)]), true, 'A writes under its lock');
      equal(
        await write('held', 'B', [put('a', 2), { type: 'delete', collection: 'w', key: 'b' }]),
        false,
        'B may not',
      );
      equal(await s.getMany('w', ['a', 'b']), [1, 1], 'and wrote nothing');
      // Past its expiry, but nobody took it: still A's, and the write extends it.
      equal(await take('stalled', 'A', 30), true, 'A takes a short lock');
      await sleep(80);
      equal(await write('stalled', 'A', [put('c', 1)]), true, 'A writes under its expired lock nobody took');
      equal(await take('stalled', 'B', 60_000), false, 'which the write extended');
      // Taken over after expiry, or released: A writes nothing.
      equal(await take('lost', 'A', 30), true, 'A takes another short lock');
      await sleep(80);
      equal(await take('lost', 'B', 60_000), true, 'B takes it over once expired');
      equal(await write('lost', 'A', [put('d', 1)]), false, 'A may not write under a lock B took over');
      await unlock.call(s, 'lost', 'B');
      equal(await write('lost', 'A', [put('d', 1)]), false, 'nor under one B took and released');
      equal(await s.get('w', 'd'), undefined, 'nothing of those writes landed');
      equal(await s.count('w'), 3, 'only the writes under a held lock');
    },
  ],
  [
    'after close(), every call fails with an error that says the store is closed',
    async (s) => {
      await s.putMany('items', [['k', 1]]);
      await s.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => s.get('items', 'k')],
        ['getMany', () => s.getMany('items', ['k'])],
        ['putMany', () => s.putMany('items', [['k', 2]])],
        ['deleteMany', () => s.deleteMany('items', ['k'])],
        ['scan', () => collectBatches(s.scan('items'))],
        ['count', () => s.count('items')],
        ['write', () => s.write([{ type: 'put', collection: 'items', key: 'k', value: 3 }])],
        ['clear', () => s.clear()],
      ];
      for (const [name, call] of calls) {
        const error = await rejects(call, `${name} after close`);
        if (!/closed/i.test(messageOf(error))) {
          fail(`${name} after close failed with an unclear error: ${messageOf(error)}`);
        }
      }
    },
  ],
];

// ---- the suite's own helpers: small, and throwing Errors whose messages say what differed ----

function fail(message: string): never {
  throw new Error(message);
}

function equal(actual: unknown, expected: unknown, what = 'value'): void {
  const difference = differ(actual, expected, '$');
  if (difference) fail(`${what}: ${difference}\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`);
}

/** Deep equality that, unlike a JSON comparison, notices present-but-undefined fields and types. */
function differ(actual: unknown, expected: unknown, path: string): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  if (
    typeof actual !== typeof expected ||
    actual === null ||
    expected === null ||
    typeof actual !== 'object'
  ) {
    return `${path} is ${show(actual)}, expected ${show(expected)}`;
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) return `${path}: array versus object`;
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const aKeys = Object.keys(a);
  const eKeys = Object.keys(e);
  for (const key of eKeys) if (!(key in a)) return `${path}.${key} is missing`;
  for (const key of aKeys) if (!(key in e)) return `${path}.${key} is present but not expected`;
  for (const key of eKeys) {
    const inner = differ(a[key], e[key], `${path}.${key}`);
    if (inner) return inner;
  }
  return undefined;
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

async function rejects(call: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return fail(`${what} was expected to fail but succeeded`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function collectBatches<T>(batches: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

async function entries(s: StorageAdapter, collection: string): Promise<Array<[string, unknown]>> {
  return (await collectBatches(s.scan(collection, { batchSize: 7 }))).flat();
}

async function prefixKeys(s: StorageAdapter, prefix: string): Promise<string[]> {
  return (await collectBatches(s.scan('keys', { prefix, batchSize: 2 }))).flat().map(([k]) => k);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

/** A fixed permutation (no Math.random), so a failure reproduces. */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
