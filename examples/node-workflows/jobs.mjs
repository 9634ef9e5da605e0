// Writes: a few records created (one job each), then every job polled at once with pollJobs.
// This WRITES to the study, so it does nothing unless --write is given.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node jobs.mjs [STUDYKEY] [FORMKEY] --write
import { createRecord } from 'imednet';
import { main, studyKey, workflowsClient } from './client.mjs';

const args = process.argv.slice(2).filter((a) => a !== '--write');
const formKey = args[1] ?? 'AE';
const count = 3;

await main(async () => {
  if (!process.argv.includes('--write')) {
    console.log(`This creates ${count} ${formKey} records in ${studyKey}; run again with --write to do it.`);
    return;
  }
  const client = workflowsClient();
  const structure = await client.workflows.structure(studyKey);
  const form = structure.form(formKey);
  if (!form) throw new Error(`Study ${studyKey} has no form ${formKey}`);
  // One text variable of the form is enough for a record; the API checks the rest.
  const variable = form.variables.find((v) => v.variableType?.toUpperCase() === 'TEXT');
  if (!variable) throw new Error(`Form ${formKey} has no text variable to fill`);

  const subjects = [];
  for await (const subject of client.subjects.list(studyKey, { filter: { deleted: false } })) {
    subjects.push(subject.subjectKey);
    if (subjects.length === count) break;
  }

  // Each create call is one job; several at once is what pollJobs is for.
  const batchIds = [];
  for (const subjectKey of subjects) {
    const item = createRecord({ formKey, subjectKey, data: { [variable.variableName]: 'Example entry' } });
    const { batchId } = await client.records.create(studyKey, [item]);
    batchIds.push(batchId);
  }
  console.log(`jobs started: ${batchIds.length}`);

  const summary = await client.workflows.pollJobs(studyKey, batchIds, {
    interval: 500,
    timeout: 60_000,
    onProgress: ({ done, total }) => {
      if (done === total) console.log(`all ${total} jobs have ended`);
    },
  });
  console.log(
    `jobs: ${summary.succeeded.length} succeeded, ${summary.failed.length} failed, ` +
      `${summary.unfinished.length} unfinished in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
  );
  for (const { batchId, state } of summary.failed)
    console.log(`  failed: ${batchId} ${state ?? 'request error'}`);
  for (const { batchId, reason } of summary.unfinished) console.log(`  unfinished: ${batchId} (${reason})`);
  if (summary.succeeded.length !== summary.total) process.exitCode = 1;
});
