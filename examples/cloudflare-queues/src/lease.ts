// A lease on a part: at most one consumer exports a part at a time. Queues deliver at least once,
// and a producer run again (the next cron tick, a manual trigger) enqueues a part that may still be
// running, so two invocations can hold the same part; both writing its folder could delete each
// other's files. The lease is an R2 object written with conditional puts (create only if absent,
// replace only the version read), renewed while the export runs; a holder that cannot renew it
// stops its export (the signal aborts) rather than write without it, and a holder that died lets it
// expire, so its retry or the next run takes the part over.
import type { Bucket } from './env.js';

/** What the lease object holds. */
interface LeaseRecord {
  holder: string;
  /** Epoch ms after which anyone may take the part over. */
  expiresAt: number;
}

/** A lease held. */
export interface Lease {
  /** Aborts when the lease is lost: the export must stop. */
  readonly signal: AbortSignal;
  /** Stops renewing and lets the part go. */
  release(): Promise<void>;
}

/** The lease, or how long until its holder's lease runs out. */
export type LeaseAttempt = { held: true; lease: Lease } | { held: false; retryInSeconds: number };

function parse(text: string): LeaseRecord | undefined {
  try {
    const record = JSON.parse(text) as LeaseRecord;
    return typeof record.expiresAt === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lease at `key` for `ttlMs`, renewed every third of it until released. */
export async function takeLease(bucket: Bucket, key: string, ttlMs: number): Promise<LeaseAttempt> {
  const holder = crypto.randomUUID();
  const body = (expiresAt: number) => JSON.stringify({ holder, expiresAt } satisfies LeaseRecord);
  const wait = (ms: number) => ({ held: false as const, retryInSeconds: Math.max(1, Math.ceil(ms / 1000)) });

  const current = await bucket.get(key);
  let expiresAt = Date.now() + ttlMs;
  let written: { etag: string } | null;
  if (current === null) {
    written = await bucket.put(key, body(expiresAt), { onlyIf: { etagDoesNotMatch: '*' } });
  } else {
    const record = parse(await current.text());
    if (record && record.expiresAt > Date.now()) return wait(record.expiresAt - Date.now());
    written = await bucket.put(key, body(expiresAt), { onlyIf: { etagMatches: current.etag } });
  }
  // Another consumer took it between our read and our write.
  if (written === null) return wait(ttlMs);

  let etag = written.etag;
  const controller = new AbortController();
  const lose = (why: string) => {
    if (!controller.signal.aborted) controller.abort(new Error(`lost the part's lease: ${why}`));
  };
  const renew = async () => {
    if (controller.signal.aborted) return;
    const next = Date.now() + ttlMs;
    let renewed: { etag: string } | null;
    try {
      renewed = await bucket.put(key, body(next), { onlyIf: { etagMatches: etag } });
    } catch (error) {
      // A failed renewal is tried again at the next tick, until the lease would have run out.
      if (Date.now() >= expiresAt) lose((error as Error).message);
      return;
    }
    if (renewed === null) return lose('another consumer took the part over');
    etag = renewed.etag;
    expiresAt = next;
  };
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, ttlMs / 3);

  return {
    held: true,
    lease: {
      signal: controller.signal,
      async release() {
        clearInterval(timer);
        await renewing;
        if (controller.signal.aborted) return;
        // Expired rather than deleted: a delete cannot be made conditional on the version we hold.
        await bucket.put(key, body(0), { onlyIf: { etagMatches: etag } }).catch(() => undefined);
      },
    },
  };
}
