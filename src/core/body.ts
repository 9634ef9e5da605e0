/**
 * Bounded body reads: a body is read chunk by chunk so that a size cap can stop it, and an abort
 * (the attempt's deadline or the caller's signal) stops it even when the fetch in use ignores
 * signals once the headers are in.
 */

/** The body was longer than the cap; reading stopped there and the body was cancelled. */
export class BodyTooLarge extends Error {
  /** The cap, in bytes. */
  readonly limit: number;
  constructor(limit: number) {
    super(`The body is larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Reads a response body as UTF-8 text, at most `maxBytes` bytes, stopping when `signal` aborts.
 * Rejects with {@link BodyTooLarge} past the cap, with `signal.reason` (or the stream's own error)
 * on abort, and with the stream's error when the connection breaks; the body is cancelled in
 * every one of these cases.
 */
export async function readBody(response: Response, maxBytes: number, signal: AbortSignal): Promise<string> {
  const stream = response.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const stop = () => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled reader reports `done`: that is an abort, not the end of the body.
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        stop();
        throw new BodyTooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  // One decode of the whole body: a chunk boundary may split a UTF-8 character.
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : concat(chunks, size));
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
