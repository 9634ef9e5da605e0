/**
 * The page side of bench/browser.ts, bundled by esbuild for Chromium. It exposes two functions the
 * driver calls through playwright: `storageBench` (100k records through putMany, then a full scan)
 * and `syncBench` (a full sync of the study behind the page's same-origin proxy, an incremental one
 * after the driver changed the study, and a SHA-256 over the cached live records).
 */
import { Imednet } from '../src/client.js';
import { sync } from '../src/plugins/sync/index.js';
import { indexedDbStorage } from '../src/storage/indexeddb.js';
import { memoryStorage } from '../src/storage/memory.js';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js.js';
import type { StorageAdapter } from '../src/storage/types.js';
import { canonical } from '../tests/support/canonical.js';
import { roundTrip } from './round-trip.js';

type AdapterName = 'memory' | 'indexeddb' | 'sql.js';

let databases = 0;
function makeAdapter(name: AdapterName): StorageAdapter {
  if (name === 'memory') return memoryStorage();
  if (name === 'indexeddb') return indexedDbStorage({ name: `bench-${Date.now()}-${++databases}` });
  return sqlJsStorage({ locateFile: (file) => `/${file}` });
}

function storageBench(name: AdapterName, count: number) {
  return roundTrip(name, makeAdapter(name), count);
}

/**
 * The floor for the IndexedDB adapter: the same keys ([collection, key]) and values (JSON text)
 * written in one transaction and read back in batches of 1000, with the raw IndexedDB API.
 */
async function rawIndexedDbBench(count: number) {
  const done = (tx: IDBTransaction) =>
    new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  const result = <T>(request: IDBRequest<T>) =>
    new Promise<T>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const opening = indexedDB.open(`raw-${Date.now()}-${++databases}`, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore('entries');
  const db = await result(opening);
  let started = performance.now();
  const tx = db.transaction('entries', 'readwrite');
  const store = tx.objectStore('entries');
  for (let n = 0; n < count; n++) {
    const i = count - 1 - n;
    const value = JSON.stringify({ id: i, form: 'VS', site: 'Site 1', value: i * 1.5 });
    store.put(value, ['records', `rec-${String(i).padStart(7, '0')}`]);
  }
  await done(tx);
  const putMs = performance.now() - started;
  started = performance.now();
  let scanned = 0;
  let lower: IDBValidKey = ['records'];
  let open = false;
  for (;;) {
    const range = IDBKeyRange.bound(lower, ['records', []], open, true);
    const reader = db.transaction('entries', 'readonly').objectStore('entries');
    const [keys, values] = await Promise.all([
      result(reader.getAllKeys(range, 1000)),
      result(reader.getAll(range, 1000)),
    ]);
    for (const text of values) JSON.parse(text as string);
    scanned += keys.length;
    if (keys.length < 1000) break;
    lower = keys[keys.length - 1] as IDBValidKey;
    open = true;
  }
  const scanMs = performance.now() - started;
  db.close();
  if (scanned !== count) throw new Error(`raw IndexedDB: scanned ${scanned} of ${count}`);
  return { putMs, scanMs };
}

let current: { client: InstanceType<ReturnType<typeof synced>>; storage: StorageAdapter } | undefined;
let requests = 0;
const synced = (storage: StorageAdapter) => Imednet.plugin(sync({ storage }));

async function start(name: AdapterName, studyKey: string) {
  const storage = makeAdapter(name);
  const Client = synced(storage);
  const client = new Client({
    // The proxy on the page's origin adds the real keys; the page holds placeholders.
    apiKey: 'set-by-proxy',
    securityKey: 'set-by-proxy',
    baseUrl: `${location.origin}/imednet`,
    fetch: (input, init) => {
      requests++;
      return fetch(input, init);
    },
  });
  current = { client, storage };
  return run(studyKey);
}

async function run(studyKey: string) {
  if (!current) throw new Error('start() first');
  requests = 0;
  const started = performance.now();
  const result = await current.client.cache.syncRecords(studyKey);
  const ms = performance.now() - started;
  const { lastTimestamp } = await current.client.cache.ledger.get(studyKey, 'records');
  return {
    ms,
    requests,
    mode: result.mode,
    fetched: result.fetched,
    stored: result.stored,
    deleted: result.deleted,
    watermark: lastTimestamp,
  };
}

async function digest(studyKey: string) {
  if (!current) throw new Error('start() first');
  const lines: string[] = [];
  for await (const chunk of current.client.cache.iterateRecords(studyKey, { batchSize: 2000 })) {
    for (const record of chunk) lines.push(`${canonical(record)}\n`);
  }
  const bytes = new TextEncoder().encode(lines.join(''));
  const hash = await crypto.subtle.digest('SHA-256', bytes);
  const sha256 = [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('');
  await current.storage.close();
  current = undefined;
  return { live: lines.length, sha256 };
}

Object.assign(globalThis, { storageBench, rawIndexedDbBench, syncBench: { start, run, digest } });
