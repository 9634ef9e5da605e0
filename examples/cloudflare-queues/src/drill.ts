// FAULT_DRILL: a rehearsal of the failure path, for a staging deployment or a test. Leave it unset
// in production. With `{"failAfterBatches": 5, "parts": ["MYSTUDY/form-AE"]}` the named parts stop
// with an error after writing 5 batches, on their first delivery only: the message is retried, and
// the retry resumes from the part's manifest instead of starting again.
import type { ExportProgress } from 'imednet/plugins/sinks';
import type { Env, PartMessage } from './env.js';
import { partId } from './layout.js';

interface Drill {
  failAfterBatches?: number;
  parts?: string[];
}

/** An `onProgress` that interrupts the export, when the drill names this part and delivery. */
export function faultDrill(
  env: Env,
  part: PartMessage,
  attempt: number,
): ((progress: ExportProgress) => void) | undefined {
  if (!env.FAULT_DRILL || attempt > 1) return undefined;
  const drill = JSON.parse(env.FAULT_DRILL) as Drill;
  const id = partId(part);
  if (!drill.parts?.includes(id)) return undefined;
  const limit = drill.failAfterBatches ?? 1;
  return (progress) => {
    if (progress.batches >= limit) {
      throw new Error(`FAULT_DRILL interrupted ${id} after ${progress.batches} batches`);
    }
  };
}
