// Bun: `bun add imednet` (from this repository: `npm install` here, see ../README.md), then
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... bun index.ts [STUDYKEY]
// Writes the study's records as NDJSON to records.ndjson with Bun's file writer.
import { Imednet, isNotFoundError } from 'imednet';

const client = new Imednet({
  apiKey: Bun.env.IMEDNET_API_KEY ?? '',
  securityKey: Bun.env.IMEDNET_SECURITY_KEY ?? '',
  baseUrl: Bun.env.IMEDNET_BASE_URL, // optional: defaults to the production host
});

const [study] = await client.studies.list().toArray();
const studyKey = Bun.argv[2] ?? study?.studyKey;
if (!studyKey) throw new Error('No study visible to these keys');

const out = Bun.file('records.ndjson').writer();
let records = 0;
for await (const record of client.records.list(studyKey)) {
  out.write(`${JSON.stringify(record)}\n`);
  records++;
}
await out.end();
console.log(`${studyKey} records: ${records} written to records.ndjson`);

try {
  await client.subjects.get(studyKey, 'NO-SUCH-SUBJECT');
} catch (error) {
  if (!isNotFoundError(error)) throw error;
  console.log('a missing subject is a NotFoundError');
}
