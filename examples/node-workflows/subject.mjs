// One subject: its data in four requests at once, then as a tree of visits, forms and rows.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node subject.mjs [STUDYKEY] [SUBJECTKEY]
import { main, studyKey, workflowsClient } from './client.mjs';

await main(async () => {
  const client = workflowsClient();
  let subjectKey = process.argv[3];
  if (!subjectKey) {
    for await (const subject of client.subjects.list(studyKey)) {
      subjectKey = subject.subjectKey;
      break;
    }
  }
  if (!subjectKey) throw new Error(`Study ${studyKey} has no subjects`);

  const { subject, visits, records, queries } = await client.workflows.subjectData(studyKey, subjectKey);
  console.log(
    `subject ${subject.subjectKey} (${subject.subjectStatus ?? 'no status'}, site ${subject.siteName ?? subject.siteId}): ` +
      `${visits.length} visits, ${records.length} records, ${queries.length} queries`,
  );

  // The same records, nested: each visit in schedule order with its forms and their rows.
  const tree = await client.workflows.subjectTree(studyKey, subjectKey);
  for (const { visit, intervalName, forms } of tree.visits) {
    const perForm = forms.map((f) => `${f.formKey} ${f.rows.length}`).join(', ') || 'no records';
    console.log(`  ${intervalName ?? visit.intervalId} (${visit.visitDate ?? 'no date'}): ${perForm}`);
  }
  const outside = tree.outsideVisits.reduce((n, f) => n + f.rows.length, 0);
  const placed = tree.visits.reduce((n, v) => n + v.forms.reduce((m, f) => m + f.rows.length, 0), 0);
  console.log(`rows in visits: ${placed}, outside any visit: ${outside}`);
});
