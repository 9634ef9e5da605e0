// The study's structure (intervals → forms → variables, and sites) and the tables `rows` fills.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node structure.mjs [STUDYKEY]
import { main, studyKey, workflowsClient } from './client.mjs';

await main(async () => {
  const client = workflowsClient();
  const structure = await client.workflows.structure(studyKey);
  const variables = structure.forms.reduce((n, f) => n + f.variables.length, 0);
  console.log(
    `${studyKey}: ${structure.intervals.length} intervals, ${structure.forms.length} forms, ` +
      `${variables} variables, ${structure.sites.length} sites`,
  );
  for (const { interval, forms } of structure.intervals) {
    console.log(`  ${interval.intervalName}: ${forms.map((f) => f.form.formKey).join(', ') || '-'}`);
  }
  if (structure.unplacedVariables.length > 0) {
    console.log(`variables on no listed form: ${structure.unplacedVariables.length}`);
  }

  // Cached for five minutes by default (workflows({ structureTtl })): no new request here.
  const again = await client.workflows.structure(studyKey);
  console.log(`second call served from the cache: ${again === structure}`);

  // Columns are known before any record is read; labels as headers may clash, and are made unique.
  const tables = await client.workflows.tables(studyKey, { header: 'label' });
  const renamed = tables.flatMap((t) => t.columns.filter((c) => c.requestedName !== undefined));
  const widest = tables.reduce((a, b) => (b.columns.length > a.columns.length ? b : a), tables[0]);
  console.log(
    `tables: ${tables.length}; widest: ${widest?.name} (${widest?.columns.length} columns); ` +
      `headers renamed to stay unique: ${renamed.length}`,
  );
});
