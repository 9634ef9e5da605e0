// The record mapper: every record as a typed row, written as one CSV file per form.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node rows.mjs [STUDYKEY] [OUTDIR]
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { main, studyKey, workflowsClient } from './client.mjs';

const outDir = process.argv[3] ?? 'out';

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, a comma or a line break, quotes doubled.
 * Values are written as they are: a text starting with = + - or @ is NOT altered. Spreadsheets may
 * read such a cell as a formula; guarding against that is to come as an option of the export sinks,
 * so that nothing is changed without being asked for.
 */
function field(value, type) {
  if (value === null) return '';
  let text;
  if (value instanceof Date) {
    // A `date` column is a day (UTC midnight); a `datetime` keeps its time, in UTC.
    text = type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  } else {
    text = String(value);
  }
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes one line, waiting when the file's buffer is full rather than holding the study in memory. */
async function writeLine(stream, line) {
  if (!stream.write(`${line}\n`)) await once(stream, 'drain');
}

await main(async () => {
  const client = workflowsClient();
  await mkdir(outDir, { recursive: true });

  // The tables are known before the first record: every form gets its file and header, even an empty one.
  const files = new Map();
  for (const table of await client.workflows.tables(studyKey)) {
    const stream = createWriteStream(join(outDir, `${table.name}.csv`));
    files.set(table.name, { stream, rows: 0 });
    await writeLine(stream, table.columns.map((c) => field(c.name, 'text')).join(','));
  }

  // A value that does not fit its variable's type stops the mapping (the default); here it becomes
  // an empty cell instead, and each one is counted so that nothing is blanked unseen.
  const invalid = new Map();
  const rows = client.workflows.rows(studyKey, {
    batchSize: 500,
    onInvalidValue: 'null',
    onIssue: (issue) => {
      const key = `${issue.formKey}.${issue.variable}`;
      invalid.set(key, (invalid.get(key) ?? 0) + 1);
    },
  });
  try {
    for await (const { table, rows: batch } of rows) {
      const file = files.get(table.name);
      for (const row of batch) {
        await writeLine(file.stream, table.columns.map((c) => field(row[c.name], c.type)).join(','));
      }
      file.rows += batch.length;
    }
  } finally {
    await Promise.all([...files.values()].map(({ stream }) => new Promise((done) => stream.end(done))));
  }

  let total = 0;
  for (const [name, { rows: count }] of files) {
    total += count;
    console.log(`${name}: ${count} rows -> ${join(outDir, `${name}.csv`)}`);
  }
  console.log(`rows: ${total} in ${files.size} files`);
  for (const [where, count] of invalid)
    console.log(`values not fitting their type, written empty: ${where} ${count}`);
});
