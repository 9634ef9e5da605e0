// A run's progress, from what the producer and the consumers left in the bucket: each planned part
// is done (its `_result.json`), failed (its record under `failed/`) or still pending (queued, being
// exported, or waiting for a retry).
import type { FailureRecord } from './dead-letter.js';
import type { Env } from './env.js';
import type { PartResult } from './export-part.js';
import { failureKey, planKey, readJson, resultKey } from './layout.js';
import type { Plan } from './plan.js';

/** One part's state. */
export interface PartStatus {
  studyKey: string;
  part: string;
  state: 'done' | 'failed' | 'pending';
  result?: PartResult;
  failure?: FailureRecord;
}

/** A run's parts and how many are in each state. */
export interface RunStatus {
  run: string;
  createdAt: string;
  done: number;
  failed: number;
  pending: number;
  parts: PartStatus[];
}

/** The run's status, or undefined when no run of that id was planned. */
export async function runStatus(env: Env, run: string): Promise<RunStatus | undefined> {
  const plan = await readJson<Plan>(env.EXPORTS, planKey(env, run));
  if (!plan) return undefined;
  const parts: PartStatus[] = [];
  // One part at a time: a Worker has a few connections open at once, and this is not urgent.
  for (const part of plan.parts) {
    const base = { studyKey: part.studyKey, part: part.part };
    const result = await readJson<PartResult>(env.EXPORTS, resultKey(env, part));
    const failure = result ? undefined : await readJson<FailureRecord>(env.EXPORTS, failureKey(env, part));
    if (result) parts.push({ ...base, state: 'done', result });
    else if (failure) parts.push({ ...base, state: 'failed', failure });
    else parts.push({ ...base, state: 'pending' });
  }
  const count = (state: PartStatus['state']) => parts.filter((p) => p.state === state).length;
  return {
    run,
    createdAt: plan.createdAt,
    done: count('done'),
    failed: count('failed'),
    pending: count('pending'),
    parts,
  };
}
