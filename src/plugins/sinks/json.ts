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

const decoder = new TextDecoder();

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
        const lines = decoder.decode(canonical).slice(0, -1).split('\n');
        return `${first ? '' : ','}\n${lines.join(',\n')}`;
      },
      footer: () => '\n]\n',
    },
    options,
  );
}
