// A chunked pipeline: a study's records cut into chunks of 100, each handed to an async step, at
// most three at once, the results coming back in order.
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node pipeline.mjs [STUDYKEY]
import { chunk, mapChunks } from 'imednet/plugins/workflows';
import { main, studyKey, workflowsClient } from './client.mjs';

await main(async () => {
  const client = workflowsClient();
  const chunks = chunk(client.records.list(studyKey), 100);

  // The step stands for the slow part of a real pipeline (an upload, a database write); it gets a
  // signal that fires when the pipeline stops, and should pass it on.
  const step = async (records, index, signal) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    signal.throwIfAborted();
    const complete = records.filter((r) => r.recordStatus === 'Record Complete').length;
    return { index, records: records.length, complete };
  };

  let batches = 0;
  let records = 0;
  let complete = 0;
  for await (const result of mapChunks(chunks, step, { concurrency: 3 })) {
    if (result.index !== batches) throw new Error('results came out of order');
    batches++;
    records += result.records;
    complete += result.complete;
  }
  console.log(`batches: ${batches} of up to 100 records, in order`);
  console.log(`records: ${records} (Record Complete: ${complete})`);
});
