// Records by criteria, then the audit trail of one of them.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node extract.mjs [STUDYKEY] [FORMKEY]
import { main, studyKey, workflowsClient } from './client.mjs';

await main(async () => {
  const client = workflowsClient();
  const structure = await client.workflows.structure(studyKey);
  const form = process.argv[3] ?? (structure.form('AE') ? 'AE' : structure.forms[0]?.form.formKey);
  if (!form) throw new Error(`Study ${studyKey} has no forms`);

  // The form is filtered by the server; records carry no subject status, so the client matches it.
  const extraction = client.workflows.records(studyKey, { form, subjectStatus: 'Enrolled' });
  const plan = await extraction.plan();
  console.log(
    `server filters: ${Object.keys(plan.filter).join(', ')}; matched here: ${plan.clientSide.join(', ')}`,
  );
  let records = 0;
  let first;
  const subjects = new Set();
  for await (const record of extraction) {
    records++;
    first ??= record;
    subjects.add(record.subjectKey);
  }
  console.log(`${form} records of Enrolled subjects: ${records} (${subjects.size} subjects)`);
  if (!first) return;

  // Every change to that record, oldest first; the server selects them by recordId.
  let revisions = 0;
  const users = new Set();
  let last;
  for await (const revision of client.workflows.auditTrail(studyKey, { recordId: first.recordId })) {
    revisions++;
    users.add(revision.user);
    last = revision;
  }
  console.log(`record ${first.recordId}: ${revisions} revisions by ${users.size} users`);

  // The revisions of the whole study made on the day of that record's last change.
  if (last) {
    const day = last.dateCreated.slice(0, 10);
    let sameDay = 0;
    for await (const _ of client.workflows.auditTrail(studyKey, { from: day, to: day })) sameDay++;
    console.log(`revisions on ${day}: ${sameDay}`);
  }
});
