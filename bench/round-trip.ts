// The storage benchmark's work, pure so that Node (bench/storage.ts) and a browser page
// (bench/browser-page.ts) measure the same thing.
import type { StorageAdapter } from '../src/storage/types.js';

/**
 * `count` small records through one putMany (inserted in reverse, so that ordering is the store's
 * work), then one full scan in key order, checked; closes the store.
 */
export async function roundTrip(
  name: string,
  storage: StorageAdapter,
  count: number,
): Promise<{ putMs: number; scanMs: number }> {
  const entries = Array.from({ length: count }, (_, n) => {
    const i = count - 1 - n;
    return [
      `rec-${String(i).padStart(7, '0')}`,
      { id: i, form: 'VS', site: 'Site 1', value: i * 1.5 },
    ] as const;
  });
  let started = performance.now();
  await storage.putMany('records', entries);
  const putMs = performance.now() - started;
  started = performance.now();
  let scanned = 0;
  let previous = '';
  for await (const batch of storage.scan('records', { batchSize: 1000 })) {
    for (const [key] of batch) {
      if (key <= previous) throw new Error(`${name}: scan out of order at ${key}`);
      previous = key;
    }
    scanned += batch.length;
  }
  const scanMs = performance.now() - started;
  await storage.close();
  if (scanned !== count) throw new Error(`${name}: scanned ${scanned}, expected ${count}`);
  return { putMs, scanMs };
}
