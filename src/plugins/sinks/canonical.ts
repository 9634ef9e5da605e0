/**
 * A batch's canonical bytes: one JSON object per row, keys in column order, dates as ISO 8601,
 * each line ended by `\n` (NDJSON). The manifest's SHA-256 is taken over these bytes, so a rerun can
 * tell that a batch it would write again is the one already written.
 */
import type { CellValue, RowBatch } from '../workflows/tables.js';

const encoder = new TextEncoder();

/** A cell as JSON text: dates as ISO 8601 strings. */
export function jsonCell(value: CellValue): string {
  return value instanceof Date ? `"${value.toISOString()}"` : JSON.stringify(value);
}

/** The NDJSON text of a batch's rows, keys in column order. */
export function ndjson(batch: RowBatch): string {
  const names = batch.table.columns.map((c) => c.name);
  const keys = names.map((n) => JSON.stringify(n));
  let out = '';
  for (const row of batch.rows) {
    let line = '{';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) line += ',';
      line += `${keys[i]}:${jsonCell(row[names[i]!] ?? null)}`;
    }
    out += `${line}}\n`;
  }
  return out;
}

/** The canonical bytes of a batch (UTF-8 NDJSON). */
export function canonicalBytes(batch: RowBatch): Uint8Array {
  return encoder.encode(ndjson(batch));
}

/** SHA-256 of bytes, as hex, through WebCrypto (every runtime has it). */
export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
