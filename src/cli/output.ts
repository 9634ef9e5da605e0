/** Writing NDJSON to a Node stream with backpressure, so a million records never pile up in memory. */
import type { Writable } from 'node:stream';

/** The error a write to `stream` cannot succeed with, once its reader has gone or it failed. */
const closed = (stream: Writable) =>
  stream.errored ?? Object.assign(new Error('The output was closed'), { code: 'ERR_STREAM_DESTROYED' });

/**
 * Writes one line, waiting for the stream to drain when its buffer is full. Rejects once the
 * stream is closed or failed (a reader that went away), instead of waiting for a drain that never comes.
 */
export async function writeLine(stream: Writable, line: string): Promise<void> {
  if (stream.destroyed) throw closed(stream);
  if (stream.write(`${line}\n`)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', settle);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(closed(stream));
    stream.once('drain', onDrain);
    stream.once('error', settle);
    stream.once('close', onClose);
    if (stream.destroyed) onClose();
  });
}

/** Formats a count with thousands separators. */
export const count = (n: number) => n.toLocaleString('en-US');

/** A time left, as a person reads it: `40 s`, `12 min`, `2 h 5 min`. */
export function duration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}
