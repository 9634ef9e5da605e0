// Node >= 20: keep a study in a local SQLite file. The first run stores the whole study; every later
// run fetches only what changed since (and what was deleted), then reads the cache offline.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node index.mjs STUDYKEY [study-cache.db]
import { Imednet } from 'imednet';
import { sync } from 'imednet/plugins/sync';
import { betterSqliteStorage } from 'imednet/storage/sqlite/better-sqlite3';

const [studyKey, filename = 'study-cache.db'] = process.argv.slice(2);
if (!studyKey) throw new Error('usage: node index.mjs STUDYKEY [study-cache.db]');

const storage = betterSqliteStorage({ filename });
const Client = Imednet.plugin(sync({ storage }));
const client = new Client({
  apiKey: process.env.IMEDNET_API_KEY ?? '',
  securityKey: process.env.IMEDNET_SECURITY_KEY ?? '',
  baseUrl: process.env.IMEDNET_BASE_URL, // optional: defaults to the production host
});

try {
  // Metadata, subjects, visits, queries and records; one line per stream when it is done.
  await client.cache.syncStudy(studyKey, {
    onProgress: (event) => {
      if (event.type !== 'done') return;
      const { stream, mode, fetched, stored, deleted } = event;
      console.log(`${stream}: ${mode}, ${fetched} fetched, ${stored} stored, ${deleted} deleted`);
    },
  });
  const records = await client.cache.ledger.get(studyKey, 'records');
  console.log(`records watermark: ${records.lastTimestamp}`);

  // Offline: the cache is read in bounded chunks, never the whole study at once.
  const perForm = new Map();
  for await (const chunk of client.cache.iterateRecords(studyKey, { batchSize: 1000 })) {
    for (const record of chunk) perForm.set(record.formKey, (perForm.get(record.formKey) ?? 0) + 1);
  }
  const counts = await client.cache.counts(studyKey);
  console.log(
    `cached: ${counts.records} records in ${perForm.size} forms, ${counts.subjects} subjects, ` +
      `${counts.deletedRecords} deleted records kept as tombstones`,
  );
} finally {
  await storage.close();
}
