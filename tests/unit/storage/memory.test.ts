import { describe, expect, it } from 'vitest';
import { storageConformanceCases } from '../../../src/storage/conformance.js';
import { memoryStorage } from '../../../src/storage/index.js';

describe('memoryStorage conformance', () => {
  for (const c of storageConformanceCases(async () => memoryStorage())) it(c.name, c.run);
});

describe('memoryStorage scans', () => {
  it('a running scan keeps its key snapshot while the collection changes underneath', async () => {
    const storage = memoryStorage();
    await storage.putMany(
      'items',
      Array.from({ length: 10 }, (_, i) => [`k${i}`, i] as const),
    );
    const seen: string[] = [];
    for await (const batch of storage.scan<number>('items', { batchSize: 3 })) {
      seen.push(...batch.map(([key]) => key));
      // A new key after the snapshot is not seen; a deleted one is skipped, not yielded stale.
      await storage.putMany('items', [['k99', 99]]);
      await storage.deleteMany('items', ['k8']);
    }
    expect(seen).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k9']);
  });

  it('rejects a batchSize that is not a positive integer', async () => {
    const storage = memoryStorage();
    await storage.putMany('items', [['a', 1]]);
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      await expect(async () => {
        for await (const _ of storage.scan('items', { batchSize })) void _;
      }).rejects.toThrow(/batchSize/);
    }
  });
});
