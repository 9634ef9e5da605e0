// Jobs advance only when polled, so a test decides exactly how many polls a job takes and what it
// ends as; the writes are applied to the study at the poll that completes the job.

import { hash32, SeededRandom } from './random.js';
import type { FakeStudy } from './study.js';
import type { ApiJob } from './types.js';
import { applyWrites, type PlannedWrite } from './writes.js';

/** How a job ends. */
export type JobOutcome = 'completed' | 'failed' | 'cancelled';

/** Job behaviour of the mock API. */
export interface JobOptions {
  /** Polls until the job ends (default 2: 'processing', then the outcome); 0 or 1 ends on the first poll. */
  jobPollsToComplete?: number;
  /** How jobs end (default 'completed'); a function decides per job from the POSTed items. */
  jobOutcome?: JobOutcome | ((items: readonly unknown[]) => JobOutcome);
  /** Letter case of `state` (default 'lower'). */
  jobStateCase?: 'lower' | 'upper';
  /** Polls answer without a state: 'absent' leaves the field out, 'empty' sends ''. */
  jobStateMissing?: 'absent' | 'empty' | false;
}

interface JobEntry {
  study: FakeStudy;
  jobId: string;
  batchId: string;
  writes: PlannedWrite[];
  items: readonly unknown[];
  polls: number;
  state: 'created' | 'processing' | JobOutcome;
  dateCreated: string;
  dateStarted: string | null;
  dateFinished: string | null;
}

/** The jobs of one mock API. */
export class JobStore {
  private readonly jobs = new Map<string, JobEntry>();
  private options: JobOptions;
  private counter = 0;

  constructor(options: JobOptions = {}) {
    this.options = { ...options };
  }

  /** Changes job behaviour for jobs polled from now on. */
  configure(options: JobOptions): void {
    this.options = { ...this.options, ...options };
  }

  /** Forgets all jobs and restores the given options. */
  reset(options: JobOptions): void {
    this.jobs.clear();
    this.counter = 0;
    this.options = { ...options };
  }

  /** Creates a job for validated writes and returns the 202 body. */
  create(study: FakeStudy, writes: PlannedWrite[], items: readonly unknown[]): Record<string, unknown> {
    const r = new SeededRandom(hash32(0x10b5, ++this.counter));
    const entry: JobEntry = {
      study,
      jobId: r.uuid(),
      batchId: r.uuid(),
      writes,
      items,
      polls: 0,
      state: 'created',
      dateCreated: study.now(),
      dateStarted: null,
      dateFinished: null,
    };
    this.jobs.set(entry.batchId, entry);
    return { jobId: entry.jobId, batchId: entry.batchId, state: this.caseOf(entry.state) };
  }

  /** Advances the job by one poll and returns its status; undefined when the study has no such job. */
  poll(study: FakeStudy, batchId: string): Record<string, unknown> | undefined {
    const entry = this.jobs.get(batchId);
    if (!entry || entry.study !== study) return undefined;
    if (entry.state === 'created' || entry.state === 'processing') this.advance(entry);
    const job: Partial<ApiJob> = {
      jobId: entry.jobId,
      batchId: entry.batchId,
      state: this.caseOf(entry.state),
      dateCreated: entry.dateCreated,
    };
    // The spec types these as non-nullable strings, so a step that has not happened is left out.
    if (entry.dateStarted !== null) job.dateStarted = entry.dateStarted;
    if (entry.dateFinished !== null) job.dateFinished = entry.dateFinished;
    if (this.options.jobStateMissing === 'absent') delete job.state;
    else if (this.options.jobStateMissing === 'empty') job.state = '';
    return job;
  }

  private advance(entry: JobEntry): void {
    entry.polls++;
    const now = entry.study.now();
    entry.dateStarted ??= now;
    if (entry.polls < (this.options.jobPollsToComplete ?? 2)) {
      entry.state = 'processing';
      return;
    }
    const outcome = this.options.jobOutcome ?? 'completed';
    let state = typeof outcome === 'function' ? outcome(entry.items) : outcome;
    if (state === 'completed') {
      try {
        applyWrites(entry.study, entry.writes);
      } catch {
        // The study changed under the job (say, a record was hard-deleted): the job fails as the
        // API's would, and the test sees a failed state rather than an exception.
        state = 'failed';
      }
    }
    entry.state = state;
    entry.dateFinished = now;
  }

  private caseOf(state: string): string {
    return this.options.jobStateCase === 'upper' ? state.toUpperCase() : state;
  }
}
