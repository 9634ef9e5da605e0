/**
 * On a terminal, a retry that waits long says so: a 429 with `Retry-After: 300` would otherwise be
 * minutes of silence. Scripts (stderr not a terminal) get nothing extra.
 */
import type { Logger } from '../core/transport.js';

/** Waits shorter than this pass unannounced (ordinary backoff is half a second to a few seconds). */
const ANNOUNCE_FROM_MS = 2000;

const seconds = (ms: number) =>
  ms < 60_000 ? `${Math.ceil(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`;

/** A client logger that writes one line to `write` before each long retry wait, naming its cause. */
export function announceRetryWaits(write: (line: string) => void): Logger {
  return (event) => {
    if (event.retryInMs === undefined || event.retryInMs < ANNOUNCE_FROM_MS) return;
    const cause =
      event.status === 429
        ? 'the API asks to slow down (429)'
        : event.status !== undefined
          ? `the API answered ${event.status}`
          : `no answer (${event.error ?? 'network error'})`;
    write(`imednet: ${cause}; waiting ${seconds(event.retryInMs)} before trying again (Ctrl-C stops)`);
  };
}
