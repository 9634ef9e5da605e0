// idb recognises IndexedDB objects by the global IDB* classes, so fake-indexeddb goes in as the
// globals first; factories made below with `new IDBFactory()` are of that same implementation.
import 'fake-indexeddb/auto';
import { createRequire } from 'node:module';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import * as idb from 'idb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { storageConformanceCases } from '../../../src/storage/conformance.js';
import { indexedDbStorage } from '../../../src/storage/indexeddb.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.doUnmock('idb');
  vi.resetModules();
});

describe('indexedDbStorage conformance (fake-indexeddb, through idb)', () => {
  // A fresh factory per adapter: every case starts from an empty IndexedDB.
  const make = async () => indexedDbStorage({ indexedDB: new IDBFactory(), IDBKeyRange });
  for (const c of storageConformanceCases(make)) it(c.name, c.run);
});

describe('indexedDbStorage conformance on the global factory (defaults only)', () => {
  let databases = 0;
  const make = async () => indexedDbStorage({ name: `global-${++databases}` });
  for (const c of storageConformanceCases(make)) it(c.name, c.run);
});

describe('indexedDbStorage', () => {
  it('persists across adapters opened on the same database name', async () => {
    const factory = new IDBFactory();
    const first = indexedDbStorage({ name: 'persist', indexedDB: factory });
    await first.putMany('subjects', [['01-001', { site: 'A' }]]);
    await first.close();
    const second = indexedDbStorage({ name: 'persist', indexedDB: factory });
    expect(await second.get('subjects', '01-001')).toEqual({ site: 'A' });
    const other = indexedDbStorage({ name: 'other', indexedDB: factory });
    expect(await other.count('subjects')).toBe(0);
    await Promise.all([second.close(), other.close()]);
  });

  it('two connections to one database see one lock', async () => {
    const factory = new IDBFactory();
    const tabA = indexedDbStorage({ name: 'shared', indexedDB: factory });
    const tabB = indexedDbStorage({ name: 'shared', indexedDB: factory });
    expect(await tabA.tryLock!('sync', 'tab-a', 10_000)).toBe(true);
    expect(await tabB.tryLock!('sync', 'tab-b', 10_000)).toBe(false);
    await tabA.unlock!('sync', 'tab-a');
    expect(await tabB.tryLock!('sync', 'tab-b', 10_000)).toBe(true);
    await Promise.all([tabA.close(), tabB.close()]);
  });

  it('concurrent tryLock calls from two connections let exactly one owner in', async () => {
    const factory = new IDBFactory();
    const tabs = [1, 2, 3, 4].map(() => indexedDbStorage({ name: 'race', indexedDB: factory }));
    const results = await Promise.all(tabs.map((tab, i) => tab.tryLock!('sync', `tab-${i}`, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    await Promise.all(tabs.map((tab) => tab.close()));
  });

  it('steps aside when another connection deletes the database, and reopens at the next call', async () => {
    const factory = new IDBFactory();
    const storage = indexedDbStorage({ name: 'deleted', indexedDB: factory });
    await storage.putMany('items', [['k', 1]]);
    // Deletion waits for every open connection to close: it only completes because ours closes.
    await idb.wrap(factory.deleteDatabase('deleted'));
    expect(await storage.get('items', 'k')).toBeUndefined();
    await storage.putMany('items', [['k', 2]]);
    expect(await storage.get('items', 'k')).toBe(2);
    await storage.close();
  });

  it('uses an idb module passed in, instead of importing one', async () => {
    const wrap = vi.fn((request: IDBOpenDBRequest) => idb.wrap(request));
    const storage = indexedDbStorage({ indexedDB: new IDBFactory(), idb: { wrap } });
    await storage.putMany('items', [['k', 1]]);
    expect(await storage.get('items', 'k')).toBe(1);
    expect(wrap).toHaveBeenCalledTimes(1);
    await storage.close();
  });

  it('without IndexedDB, fails at first use naming what to install or use instead', async () => {
    vi.stubGlobal('indexedDB', undefined);
    // Creating the adapter is fine, using it is not.
    const storage = indexedDbStorage();
    const error = await storage.get('a', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/fake-indexeddb\/auto/);
    expect((error as Error).message).toMatch(/memoryStorage/);
  });

  it('a factory of another implementation than the globals fails clearly, and can be retried', async () => {
    // fake-indexeddb's CommonJS build is a second copy, with classes of its own: idb's instanceof
    // checks against the (ESM) globals do not recognise its requests.
    const foreign = createRequire(import.meta.url)('fake-indexeddb') as typeof import('fake-indexeddb');
    const storage = indexedDbStorage({
      indexedDB: new foreign.IDBFactory(),
      IDBKeyRange: foreign.IDBKeyRange,
    });
    const error = await storage.count('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/global IDB\* classes/);
    expect((error as Error).message).toMatch(/fake-indexeddb\/auto/);
    // A second call tries again rather than replaying a cached failure.
    await expect(storage.count('a')).rejects.toBeInstanceOf(ConfigurationError);
    await storage.close();
  });

  it('a factory without the IDB* globals fails clearly instead of with a ReferenceError', async () => {
    vi.stubGlobal('IDBRequest', undefined);
    const error = await indexedDbStorage({ indexedDB: new IDBFactory() })
      .get('a', 'b')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/fake-indexeddb\/auto/);
    expect((error as ConfigurationError).cause).toBeInstanceOf(TypeError);
  });

  it('without the idb package, fails at first use naming `npm install idb`', async () => {
    vi.doMock('idb', () => {
      throw new Error("Cannot find package 'idb'");
    });
    vi.resetModules();
    const fresh = await import('../../../src/storage/indexeddb.js');
    const { ConfigurationError: FreshConfigurationError } = await import('../../../src/core/errors.js');
    const storage = fresh.indexedDbStorage({ indexedDB: new IDBFactory() });
    const error = await storage.get('a', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FreshConfigurationError);
    expect((error as Error).message).toMatch(/npm install idb/);
    expect((error as Error).message).toMatch(/\{ idb \}/);
  });
});
