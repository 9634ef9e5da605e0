import { ConfigurationError } from '../core/errors.js';
import type { StorageOperation } from './types.js';

/**
 * Every adapter stores a value as its JSON text, so all of them agree on what survives a round trip
 * (JSON's rules: `undefined` fields vanish, Dates become strings) and a value that cannot be
 * serialised fails before anything is written. Storing text also means neither the caller's object
 * nor a value handed out by `get` can alias what is stored.
 */

/** The JSON text of `value`, or a `ConfigurationError` that names where it was to be stored. */
export function encodeValue(collection: string, key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigurationError(
      `Cannot store ${where(collection, key)}: not JSON-serialisable (${reason})`,
      {
        cause,
      },
    );
  }
  // JSON.stringify answers undefined (not an exception) for undefined, functions and symbols.
  if (text === undefined) {
    throw new ConfigurationError(
      `Cannot store ${where(collection, key)}: ${typeof value} is not a JSON value`,
    );
  }
  return text;
}

/** Every put's JSON text (undefined for the other operations), so a bad value fails before anything is applied. */
export function encodePuts(operations: readonly StorageOperation[]): (string | undefined)[] {
  return operations.map((op) =>
    op.type === 'put' ? encodeValue(op.collection, op.key, op.value) : undefined,
  );
}

/** The value back from its stored JSON text. */
export function decodeValue<T>(text: string): T {
  return JSON.parse(text) as T;
}

function where(collection: string, key: string): string {
  // Keys are identifiers, but cap them so a pathological key cannot flood a log line.
  const shown = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  return `${JSON.stringify(collection)} / ${JSON.stringify(shown)}`;
}
