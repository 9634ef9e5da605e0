// Deno: `deno add npm:imednet` wrote the import map in deno.json (from this repository:
// `npm install` here, see ../README.md); then
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... deno task start [STUDYKEY]
// Without deno.json, import from 'npm:imednet@^0.1.0' directly.
import { Imednet, isNotFoundError, type Subject } from 'imednet';

const client = new Imednet({
  apiKey: Deno.env.get('IMEDNET_API_KEY') ?? '',
  securityKey: Deno.env.get('IMEDNET_SECURITY_KEY') ?? '',
  baseUrl: Deno.env.get('IMEDNET_BASE_URL'), // optional: defaults to the production host
});

const studies = await client.studies.list().toArray();
console.log(`studies: ${studies.map((s) => s.studyKey).join(', ')}`);
const studyKey = Deno.args[0] ?? studies[0]?.studyKey;
if (!studyKey) throw new Error('No study visible to these keys');

const bySite = new Map<string, number>();
for await (const subject of client.subjects.list(studyKey)) {
  const site = (subject as Subject).siteName ?? '(no site)';
  bySite.set(site, (bySite.get(site) ?? 0) + 1);
}
console.log(
  `${studyKey} subjects: ${[...bySite.values()].reduce((a, b) => a + b, 0)} in ${bySite.size} sites`,
);

try {
  await client.subjects.get(studyKey, 'NO-SUCH-SUBJECT');
} catch (error) {
  if (!isNotFoundError(error)) throw error;
  console.log('a missing subject is a NotFoundError');
}
