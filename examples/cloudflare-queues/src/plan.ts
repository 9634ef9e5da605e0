// The producer: list the studies the keys can see, split each into parts, write the run's plan and
// enqueue one message per part. A study up to SPLIT_ABOVE_RECORDS records is one part; a larger one
// is one part per form (the record mapper's `forms` option, which the SDK turns into a server-side
// `formKey` filter), so the parts of a large study run in parallel and each stays small enough for
// one consumer invocation. Producing a run again is safe: the consumer skips complete parts.
import { createClient, type ExportClient } from './client.js';
import { type Env, intVar, type PartMessage } from './env.js';
import { describeError, planKey, writeJson } from './layout.js';

/** What a run is made of, as `runs/<run>/plan.json` records it. */
export interface Plan {
  run: string;
  createdAt: string;
  parts: PartMessage[];
}

/** `sendBatch` takes at most 100 messages at a time. */
const SEND_BATCH = 100;

/** Plans run `run` and enqueues its parts; resolves to the plan. */
export async function produceRun(env: Env, run: string): Promise<Plan> {
  const client = createClient(env);
  const splitAbove = intVar(env.SPLIT_ABOVE_RECORDS, 20_000, 'SPLIT_ABOVE_RECORDS');
  const parts: PartMessage[] = [];
  for await (const study of client.studies.list()) {
    parts.push(...(await studyParts(client, run, study.studyKey, splitAbove)));
  }
  const plan: Plan = { run, createdAt: new Date().toISOString(), parts };
  // The plan first: the status route reads it, and it must list every part a consumer may report on.
  await writeJson(env.EXPORTS, planKey(env, run), plan);
  for (let i = 0; i < parts.length; i += SEND_BATCH) {
    await env.EXPORT_QUEUE.sendBatch(parts.slice(i, i + SEND_BATCH).map((body) => ({ body })));
  }
  console.log(JSON.stringify({ event: 'run-planned', run, parts: parts.length }));
  return plan;
}

/** One part for the whole study, or one per form when the study is large. */
async function studyParts(
  client: ExportClient,
  run: string,
  studyKey: string,
  splitAbove: number,
): Promise<PartMessage[]> {
  const whole: PartMessage[] = [{ run, studyKey, part: 'all' }];
  try {
    if ((await recordCount(client, studyKey)) <= splitAbove) return whole;
    const { forms } = await client.workflows.structure(studyKey);
    return forms.map(({ form }) => ({
      run,
      studyKey,
      part: `form-${form.formKey}`,
      forms: [form.formKey],
    }));
  } catch (error) {
    // The study is still exported: its consumer meets the same failure, retries it, and if it
    // persists the dead-letter queue records it, while the other studies go on.
    console.warn(JSON.stringify({ event: 'split-failed', studyKey, error: describeError(error) }));
    return whole;
  }
}

/** The study's record count, from the first page of a one-record listing. */
async function recordCount(client: ExportClient, studyKey: string): Promise<number> {
  // Leaving the loop after page 0 sends nothing more.
  for await (const page of client.records.list(studyKey, { pageSize: 1, concurrency: 1 }).pages()) {
    return page.totalElements;
  }
  return 0;
}
