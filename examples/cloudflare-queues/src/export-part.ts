// The consumer: export one part of one study to R2 as Parquet, in the part's own folder. Files go
// in the Hive layout, a file finished every ROWS_PER_FILE rows, and the manifest records each
// finished file; when an attempt fails (the API, R2, the Worker's time), the message is retried and
// the next attempt reads the manifest, checks that the records it would write again are the ones
// already written, skips them and goes on: every record lands exactly once.
import { ExportConfigurationError, type ExportSummary, exportStudy } from 'imednet/plugins/sinks';
import { parquetSink } from 'imednet/plugins/sinks/parquet';
import { r2Directory } from 'imednet/plugins/sinks/r2';
import { createClient } from './client.js';
import { faultDrill } from './drill.js';
import { type Env, intVar, type PartMessage, type QueueMessage } from './env.js';
import {
  describeError,
  failureKey,
  lastErrorKey,
  leaseKey,
  partId,
  partPrefix,
  resultKey,
  writeJson,
} from './layout.js';
import { takeLease } from './lease.js';

/** What `_result.json` records of a complete part. */
export interface PartResult {
  run: string;
  studyKey: string;
  part: string;
  /** The delivery that completed it (1 when no attempt failed before). */
  attempt: number;
  /** Rows written by that delivery, and rows an earlier, interrupted one had written. */
  rows: number;
  skippedRows: number;
  resumed: boolean;
  tables: ExportSummary['tables'];
  finishedAt: string;
}

/** Exports the part a message names; acks it when the part is complete, retries it otherwise. */
export async function exportPart(env: Env, message: QueueMessage<PartMessage>): Promise<void> {
  const part = message.body;
  const id = partId(part);
  const leaseMs = intVar(env.LEASE_SECONDS, 120, 'LEASE_SECONDS') * 1000;
  const taken = await takeLease(env.EXPORTS, leaseKey(env, part), leaseMs);
  if (!taken.held) {
    // Another consumer is on the part. Waiting with message.retry() would use up this message's
    // retries and could send a part that completes to the dead-letter queue; a fresh copy comes
    // back once the lease would have run out instead, and finds the part complete or free.
    console.log(JSON.stringify({ event: 'part-busy', part: id, retryInSeconds: taken.retryInSeconds }));
    await env.EXPORT_QUEUE.send(part, { delaySeconds: taken.retryInSeconds });
    message.ack();
    return;
  }
  const { lease } = taken;
  try {
    const summary = await exportOnce(env, part, message.attempts, lease.signal);
    // A part found complete (a run produced again) keeps the result of the delivery that did it.
    if (!summary.alreadyComplete || (await env.EXPORTS.head(resultKey(env, part))) === null) {
      await writeJson(env.EXPORTS, resultKey(env, part), {
        run: part.run,
        studyKey: part.studyKey,
        part: part.part,
        attempt: message.attempts,
        rows: summary.rows,
        skippedRows: summary.skippedRows,
        resumed: summary.resumed,
        tables: summary.tables,
        finishedAt: new Date().toISOString(),
      } satisfies PartResult);
    }
    // A part that had gone to the dead-letter queue and now succeeded is no longer a failure.
    await env.EXPORTS.delete(failureKey(env, part));
    message.ack();
    console.log(
      JSON.stringify({
        event: summary.alreadyComplete ? 'part-already-complete' : 'part-done',
        part: id,
        attempt: message.attempts,
        rows: summary.rows,
        skippedRows: summary.skippedRows,
        elapsedMs: summary.elapsedMs,
      }),
    );
  } catch (error) {
    const why = describeError(error);
    console.error(JSON.stringify({ event: 'part-failed', part: id, attempt: message.attempts, error: why }));
    // What the dead-letter consumer copies into the failure record, should this be the last attempt.
    await writeJson(env.EXPORTS, lastErrorKey(env, part), {
      attempt: message.attempts,
      error: why,
      at: new Date().toISOString(),
    }).catch(() => undefined);
    message.retry();
  } finally {
    await lease.release();
  }
}

/** One attempt at the part: resumes from its manifest, or starts again when that no longer fits. */
async function exportOnce(
  env: Env,
  part: PartMessage,
  attempt: number,
  signal: AbortSignal,
): Promise<ExportSummary> {
  const client = createClient(env);
  const directory = r2Directory(env.EXPORTS, { prefix: partPrefix(env, part), name: 'EXPORTS' });
  const rowsPerFile = intVar(env.ROWS_PER_FILE, 100_000, 'ROWS_PER_FILE');
  const onProgress = faultDrill(env, part, attempt);
  const run = (restart: boolean) =>
    exportStudy(client, part.studyKey, parquetSink({ directory, layout: 'hive', rowsPerFile }), {
      ...(part.forms ? { forms: part.forms } : {}),
      // A checkpoint after every batch saves the manifest as soon as a Parquet file is finished
      // (a Parquet sink has nothing durable in between), so a retry resumes right after it.
      checkpointEvery: 1,
      restart,
      signal,
      ...(onProgress ? { onProgress } : {}),
    });
  try {
    return await run(false);
  } catch (error) {
    // The interrupted attempt's manifest no longer fits: a record it wrote changed since, or the
    // form's design did. Resuming would mix two versions, so the part starts again (its files are
    // replaced, still exactly once). Any other setting error fails the restart too, and is retried.
    if (!(error instanceof ExportConfigurationError) || signal.aborted) throw error;
    console.warn(JSON.stringify({ event: 'part-restarted', part: partId(part), why: describeError(error) }));
    return run(true);
  }
}
