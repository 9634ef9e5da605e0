import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { storageConformanceCases } from '../../../src/storage/conformance.js';
import { indexedDbStorage } from '../../../src/storage/indexeddb.js';

describe('indexedDbStorage conformance (fake-indexeddb)', () => {
  // A fresh factory per adapter: every case starts from an empty IndexedDB.
  const make = async () => indexedDbStorage({ indexedDB: new IDBFactory(), IDBKeyRange });
  for (const c of storageConformanceCases(make)) it(c.name, c.run);
});

describe('indexedDbStorage', () => {
  it('persists across adapters opened on the same database name', async () => {
    const factory = new IDBFactory();
    const first = indexedDbStorage({ name: 'persist', indexedDB: factory, IDBKeyRange });
    await first.putMany('subjects', [['01-001', { site: 'A' }]]);
    await first.close();
    const second = indexedDbStorage({ name: 'persist', indexedDB: factory, IDBKeyRange });
    expect(await second.get('subjects', '01-001')).toEqual({ site: 'A' });
    const other = indexedDbStorage({ name: 'other', indexedDB: factory, IDBKeyRange });
    expect(await other.count('subjects')).toBe(0);
    await Promise.all([second.close(), other.close()]);
  });

  it('two connections to one database see one lock', async () => {
    const factory = new IDBFactory();
    const tabA = indexedDbStorage({ name: 'shared', indexedDB: factory, IDBKeyRange });
    const tabB = indexedDbStorage({ name: 'shared', indexedDB: factory, IDBKeyRange });
    expect(await tabA.tryLock!('sync', 'tab-a', 10_000)).toBe(true);
    expect(await tabB.tryLock!('sync', 'tab-b', 10_000)).toBe(false);
    await tabA.unlock!('sync', 'tab-a');
    expect(await tabB.tryLock!('sync', 'tab-b', 10_000)).toBe(true);
    await Promise.all([tabA.close(), tabB.close()]);
  });

  it('without IndexedDB, fails at first use naming what to pass or use instead', async () => {
    // Node has no global indexedDB; creating the adapter is fine, using it is not.
    const storage = indexedDbStorage();
    const error = await storage.get('a', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/fake-indexeddb/);
    expect((error as Error).message).toMatch(/memoryStorage/);
  });
});
