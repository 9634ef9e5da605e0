/**
 * One writer per study. Three layers, each used when it applies:
 * - an in-realm queue per storage adapter, so writers in one process or page never race at all;
 * - the Web Locks API (`navigator.locks`) where the host has it: browser tabs and workers of one origin,
 *   released at once when a tab closes;
 * - a lock kept in the store itself (`tryLock`/`renewLock`/`writeLocked`/`unlock`) when the adapter is
 *   shared between processes (SQLite files; IndexedDB where there are no Web Locks), renewed by a
 *   heartbeat and confirmed by the store inside every write, so a holder whose lock was taken over
 *   writes nothing more and stops instead of interleaving its writes with the next one's (and runs
 *   again once the lock is back).
 * Readers take no lock.
 */
import { AbortError, ConfigurationError } from '../../core/errors.js';
import type { StorageAdapter, StorageOperation } from '../../storage/types.js';
import { LockLostError, LockTimeoutError } from './errors.js';

/** Which cross-context lock to take on top of the in-realm queue. */
export type LockMode = 'auto' | 'web-locks' | 'store' | 'local';

/** Options of the writer lock. */
export interface WriterLockOptions {
  /**
   * `auto` (default): Web Locks where the host has them, plus the store's lock when the adapter is
   * shared and offers one (except an `originScoped` adapter such as IndexedDB under Web Locks, which
   * already span every context that can open it). `web-locks` / `store` force one; `local` uses only
   * the in-realm queue (a single process or page).
   * @example sync({ storage, lock: { mode: 'store', ttlMs: 10_000 } })
   */
  mode?: LockMode;
  /** Lifetime of the store lock without a heartbeat, in ms (default 30000); a crashed holder frees it after this. */
  ttlMs?: number;
  /** Longest wait for the lock before `LockTimeoutError`, in ms (default 600000). */
  timeoutMs?: number;
}

/** A held writer lock, as a sync run sees it. */
export interface HeldLock {
  /**
   * Call before every write: throws `AbortError` if the run was aborted and `LockLostError` if the
   * lock was lost; renews the store lock when it is due.
   */
  check(): Promise<void>;
  /**
   * Checks like `check`, then writes `operations` atomically. Under a store lock whose adapter has
   * `writeLocked`, the store itself confirms in the same atomic write that this run still holds the
   * lock, so a run whose lock was taken over between its check and its write writes nothing.
   * `afterAbort` skips the abort check, for the write that records why a run stopped.
   */
  write(operations: readonly StorageOperation[], afterAbort?: boolean): Promise<void>;
}

interface WebLockManager {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>;
}

const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

function webLocks(): WebLockManager | undefined {
  const nav = (globalThis as { navigator?: { locks?: WebLockManager } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : undefined;
}

function ownerId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Waits `ms`, or less when `signal` aborts (it resolves either way; callers check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function aborted(signal: AbortSignal | undefined, what: string): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal?.reason });
}

async function inRealmQueue<T>(
  storage: StorageAdapter,
  name: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  let byName = queues.get(storage);
  if (!byName) {
    byName = new Map();
    queues.set(storage, byName);
  }
  const previous = byName.get(name) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  byName.set(name, tail);
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted(signal, 'Waiting for the writer lock'));
      const onAbort = () => reject(aborted(signal, 'Waiting for the writer lock'));
      signal?.addEventListener('abort', onAbort, { once: true });
      previous.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    return await fn();
  } finally {
    release();
    if (byName.get(name) === tail) byName.delete(name);
  }
}

/** How many times a run that lost its store lock is run again once it has the lock back. */
const RERUNS_AFTER_LOSS = 3;

/**
 * Holds the store lock of `name` around `fn`. A heartbeat and every `check()` renew it through
 * `renewLock`, which extends the lock only while this owner still holds it, so a writer whose
 * event loop stalled past the ttl keeps going when nobody took the lock meanwhile, and stops when
 * somebody did. One renewal is in flight at a time, and it is awaited before the unlock, so a late
 * renewal can never take the lock again after it was released.
 */
async function withStoreLock<T>(
  storage: StorageAdapter,
  name: string,
  ttlMs: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const tryLock = storage.tryLock!.bind(storage);
  const renewLock = storage.renewLock?.bind(storage);
  const owner = ownerId();
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw aborted(signal, 'Waiting for the writer lock');
    if (await tryLock(name, owner, ttlMs)) break;
    if (Date.now() - started >= timeoutMs) throw new LockTimeoutError(name, Date.now() - started);
    const ceiling = Math.min(1000, 25 * 2 ** Math.min(attempt, 6));
    await sleep(ceiling / 2 + Math.random() * (ceiling / 2), signal);
  }
  let renewedAt = Date.now();
  let lost = false;
  let stopped = false;
  let renewing: Promise<void> | undefined;
  const renew = (): Promise<void> => {
    if (stopped || lost) return Promise.resolve();
    const attempt = async () => {
      try {
        // Without renewLock, tryLock would also take a lock that another writer took and released
        // while this one stalled; so then a renewal only counts while the ttl has not run out.
        const late = Date.now() - renewedAt >= ttlMs;
        if (!renewLock && late) lost = true;
        else if (await (renewLock ?? tryLock)(name, owner, ttlMs)) renewedAt = Date.now();
        else lost = true;
      } catch {
        // A failed renewal is retried by the next beat or check.
      }
    };
    renewing ??= attempt().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };
  const beat = setInterval(() => void renew(), Math.max(50, Math.floor(ttlMs / 3)));
  (beat as { unref?: () => void }).unref?.();
  const verify = async () => {
    if (!lost && Date.now() - renewedAt > ttlMs / 6) await renew();
    // Past the ttl with no renewal that reached the store, ownership cannot be shown: stop.
    if (!lost && Date.now() - renewedAt >= ttlMs) lost = true;
    if (lost) throw new LockLostError(name);
  };
  const writeLocked = storage.writeLocked?.bind(storage);
  const held: HeldLock = {
    async check() {
      if (signal?.aborted) throw aborted(signal, 'The sync');
      await verify();
    },
    async write(operations, afterAbort = false) {
      if (!afterAbort && signal?.aborted) throw aborted(signal, 'The sync');
      await verify();
      if (!writeLocked) return storage.write(operations);
      if (!(await writeLocked({ name, owner, ttlMs }, operations))) {
        lost = true;
        throw new LockLostError(name);
      }
      renewedAt = Date.now();
    },
  };
  try {
    return await fn(held);
  } finally {
    stopped = true;
    clearInterval(beat);
    await renewing;
    await storage.unlock?.(name, owner).catch(() => undefined);
  }
}

function signalOnly(storage: StorageAdapter, signal: AbortSignal | undefined): HeldLock {
  return {
    async check() {
      if (signal?.aborted) throw aborted(signal, 'The sync');
    },
    async write(operations, afterAbort = false) {
      if (!afterAbort && signal?.aborted) throw aborted(signal, 'The sync');
      await storage.write(operations);
    },
  };
}

/**
 * Runs `fn` as the only writer of `name` on this storage. Waits for another writer to finish rather
 * than failing; fails only on abort or on `timeoutMs`. When a store lock is lost mid-run (`check`
 * throws `LockLostError`), `fn` is run again once the lock is back (up to 3 times), so `fn` must be
 * a job that starts from what is stored, as every sync does.
 */
export async function withWriterLock<T>(
  storage: StorageAdapter,
  name: string,
  options: WriterLockOptions,
  signal: AbortSignal | undefined,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const mode = options.mode ?? 'auto';
  const ttlMs = options.ttlMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const locks = webLocks();
  const useWeb = mode === 'web-locks' || (mode === 'auto' && locks !== undefined);
  const canStore = typeof storage.tryLock === 'function' && storage.capabilities.locks;
  // Web Locks span exactly the contexts of one origin; a store shared more widely (a SQLite file
  // used by several processes) also needs its own lock.
  const webCoversStore = useWeb && storage.capabilities.originScoped === true;
  const useStore =
    mode === 'store' || (mode === 'auto' && canStore && storage.capabilities.shared && !webCoversStore);
  if (useWeb && !locks)
    throw new ConfigurationError('lock mode "web-locks": this host has no navigator.locks');
  if (useStore && !canStore) {
    throw new ConfigurationError(`lock mode "store": the ${storage.name} adapter offers no tryLock/unlock`);
  }

  const inner = async (): Promise<T> => {
    if (!useStore) return fn(signalOnly(storage, signal));
    // A run that lost its lock to a takeover runs again once it has the lock back: what it
    // committed stays, and the next run starts from the ledger as the other writer left it.
    for (let run = 0; ; run++) {
      try {
        return await withStoreLock(storage, name, ttlMs, timeoutMs, signal, fn);
      } catch (error) {
        if (!(error instanceof LockLostError) || run >= RERUNS_AFTER_LOSS || signal?.aborted) throw error;
      }
    }
  };
  const outer = (): Promise<T> => {
    if (!useWeb || !locks) return inner();
    let result!: T;
    const options: { signal?: AbortSignal } = {};
    if (signal) options.signal = signal;
    return locks
      .request(name, options, async () => {
        result = await inner();
      })
      .then(
        () => result,
        (error: unknown) => {
          if (signal?.aborted && !(error instanceof AbortError)) throw aborted(signal, 'The sync');
          throw error;
        },
      );
  };
  return inRealmQueue(storage, name, signal, outer);
}
