/** Writing NDJSON to a Node stream with backpressure, so a million records never pile up in memory. */
import type { Writable } from 'node:stream';

/** Writes one line, waiting for the stream to drain when its buffer is full. */
export async function writeLine(stream: Writable, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        stream.off('drain', onDrain);
        reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
}

/** Formats a count with thousands separators. */
export const count = (n: number) => n.toLocaleString('en-US');
