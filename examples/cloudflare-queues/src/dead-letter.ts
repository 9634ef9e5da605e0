// The dead-letter consumer: a part whose every delivery failed lands here. It is recorded as
// `failed/<run>/<study>/<part>.json` with the last attempt's error (no key, no record data), and
// the status route lists it. Fix the cause, then produce the run again: complete parts are skipped,
// the failed one resumes from its manifest, and its failure record is removed once it succeeds.
import type { Env, MessageBatch, PartMessage } from './env.js';
import {
  describeError,
  failureKey,
  isPartMessage,
  lastErrorKey,
  partId,
  partPrefix,
  readJson,
  writeJson,
} from './layout.js';

/** What `failed/<run>/<study>/<part>.json` holds. */
export interface FailureRecord {
  run: string;
  studyKey: string;
  part: string;
  forms?: string[];
  /** The part's folder, where its manifest and any files written so far are. */
  prefix: string;
  messageId: string;
  failedAt: string;
  /** The last failed delivery: its number and error. */
  lastError?: { attempt: number; error: string; at: string };
}

/** Records each dead-lettered part in R2 and acks it. */
export async function recordFailures(env: Env, batch: MessageBatch<PartMessage>): Promise<void> {
  for (const message of batch.messages) {
    const part = message.body;
    if (!isPartMessage(part)) {
      console.error(JSON.stringify({ event: 'dead-letter-unreadable', messageId: message.id }));
      message.ack();
      continue;
    }
    try {
      const record: FailureRecord = {
        run: part.run,
        studyKey: part.studyKey,
        part: part.part,
        ...(part.forms ? { forms: part.forms } : {}),
        prefix: partPrefix(env, part),
        messageId: message.id,
        failedAt: new Date().toISOString(),
        ...(await readJson<Required<FailureRecord>['lastError']>(env.EXPORTS, lastErrorKey(env, part)).then(
          (lastError) => (lastError ? { lastError } : {}),
        )),
      };
      await writeJson(env.EXPORTS, failureKey(env, part), record);
      console.error(
        JSON.stringify({ event: 'part-dead-lettered', part: partId(part), record: failureKey(env, part) }),
      );
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({
          event: 'dead-letter-write-failed',
          part: partId(part),
          error: describeError(error),
        }),
      );
      message.retry();
    }
  }
}
