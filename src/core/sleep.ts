/** An abortable wait. */
import { AbortError } from './errors.js';

/**
 * Resolves after `ms` milliseconds; rejects with `AbortError` as soon as `signal` fires (at once if
 * it already has). The timer is cleared on abort, so nothing is left pending.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('The wait was aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError('The wait was aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
