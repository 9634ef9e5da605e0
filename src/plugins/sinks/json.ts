/**
 * `imednet/plugins/sinks/json`: NDJSON (one JSON object per line, `<table>.ndjson`) and JSON (one
 * array per table, `<table>.json`). Keys in column order; dates as ISO 8601 strings in UTC; null
 * for a blank. The NDJSON lines are the batch's canonical bytes as the manifest hashes them.
 */

import { type TextFileSinkOptions, textFileSink } from './text-files.js';
import type { ExportSink } from './types.js';

/**
 * The NDJSON sink: one object per line, a file per table.
 * @example const sink = ndjsonSink({ directory: nodeDirectory('./export') });
 */
export function ndjsonSink(options: TextFileSinkOptions): ExportSink {
  return textFileSink(
    {
      kind: 'ndjson',
      extension: 'ndjson',
      header: () => '',
      encode: (_batch, canonical) => canonical,
      footer: () => '',
    },
    options,
  );
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;

/**
 * The canonical NDJSON lines as array elements, `\n{...}` joined by commas, on the bytes: a JSON
 * line holds no raw newline (JSON escapes it in strings), so each newline byte ends a row.
 */
function elements(canonical: Uint8Array, first: boolean): Uint8Array {
  let rows = 0;
  for (const byte of canonical) if (byte === NEWLINE) rows++;
  // Per row: a newline before it, and a comma before every row but the very first of the file.
  const out = new Uint8Array(canonical.length + rows + (first ? 0 : 1) - 1);
  let at = 0;
  let start = 0;
  for (let i = 0; i < canonical.length; i++) {
    if (canonical[i] !== NEWLINE) continue;
    if (start > 0 || !first) out[at++] = COMMA;
    out[at++] = NEWLINE;
    out.set(canonical.subarray(start, i), at);
    at += i - start;
    start = i + 1;
  }
  return out;
}

/**
 * The JSON sink: one array of objects per table, a file per table.
 * @example const sink = jsonSink({ directory: memoryDirectory() });
 */
export function jsonSink(options: TextFileSinkOptions): ExportSink {
  return textFileSink(
    {
      kind: 'json',
      extension: 'json',
      header: () => '[',
      // The canonical NDJSON lines become array elements: `\n{...}` joined by commas.
      encode(batch, canonical, first) {
        if (batch.rows.length === 0) return '';
        return elements(canonical, first);
      },
      footer: () => '\n]\n',
    },
    options,
  );
}
