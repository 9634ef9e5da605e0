// Query management: counts by state, the oldest open queries, one site's and one subject's queries.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node queries.mjs [STUDYKEY]
import { main, studyKey, workflowsClient } from './client.mjs';

await main(async () => {
  const client = workflowsClient();
  const counts = await client.workflows.queryCounts(studyKey);
  console.log(
    `queries: ${counts.total} (open ${counts.open}, answered ${counts.answered}, ` +
      `closed ${counts.closed}, without comments ${counts.noComments})`,
  );

  // "Open" is every query whose latest comment is not closed: answered ones wait for the monitor.
  const oldest = [];
  let open = 0;
  for await (const status of client.workflows.openQueries(studyKey)) {
    open++;
    oldest.push(status);
    oldest.sort((a, b) => (b.ageDays ?? -1) - (a.ageDays ?? -1));
    oldest.length = Math.min(oldest.length, 3);
  }
  console.log(`open or answered: ${open}`);
  for (const { query, state, ageDays } of oldest) {
    console.log(
      `  #${query.annotationId} ${query.subjectKey} ${query.variable ?? ''} ${state}, ${ageDays ?? '?'} days`,
    );
  }

  const site = (await client.workflows.structure(studyKey)).sites[0];
  if (site) {
    let atSite = 0;
    let subjectKey;
    for await (const { query } of client.workflows.siteQueries(studyKey, { siteId: site.siteId })) {
      atSite++;
      subjectKey ??= query.subjectKey;
    }
    console.log(`site ${site.siteName}: ${atSite} queries`);
    if (subjectKey) {
      let ofSubject = 0;
      for await (const _ of client.workflows.subjectQueries(studyKey, subjectKey)) ofSubject++;
      console.log(`subject ${subjectKey}: ${ofSubject} queries`);
    }
  }
});
