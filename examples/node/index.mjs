// Node >= 20: list your studies, then stream one study's subjects and records.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node index.mjs [STUDYKEY]
// (In CommonJS: const { Imednet, isNotFoundError } = require('imednet');)
import { Imednet, isNotFoundError } from 'imednet';

const client = new Imednet({
  apiKey: process.env.IMEDNET_API_KEY ?? '',
  securityKey: process.env.IMEDNET_SECURITY_KEY ?? '',
  baseUrl: process.env.IMEDNET_BASE_URL, // optional: defaults to the production host
});

const studies = await client.studies.list().toArray();
console.log(`studies: ${studies.map((s) => s.studyKey).join(', ')}`);
const studyKey = process.argv[2] ?? studies[0]?.studyKey;
if (!studyKey) throw new Error('No study visible to these keys');

let subjects = 0;
for await (const _subject of client.subjects.list(studyKey)) subjects++;
console.log(`${studyKey} subjects: ${subjects}`);

let records = 0;
for await (const _record of client.records.list(studyKey, { sort: '-dateModified' })) records++;
console.log(`${studyKey} records: ${records}`);

try {
  await client.subjects.get(studyKey, 'NO-SUCH-SUBJECT');
} catch (error) {
  if (!isNotFoundError(error)) throw error;
  console.log('a missing subject is a NotFoundError');
}
