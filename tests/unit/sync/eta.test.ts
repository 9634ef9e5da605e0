// A long sync under a request budget tells how long is left: the larger of the pace so far and
// what the budget allows for the pages still to fetch.
import { describe, expect, it } from 'vitest';
import { duration } from '../../../src/cli/output.js';
import { Pacer } from '../../../src/core/pacer.js';
import { Run } from '../../../src/plugins/sync/run.js';
import type { SyncProgressEvent } from '../../../src/plugins/sync/types.js';

const MINUTE = 60_000;

function runWith(budget: ConstructorParameters<typeof Pacer>[0]) {
  const events: SyncProgressEvent[] = [];
  const run = new Run('BIG', 'records', 'full', [(e) => events.push(e)], {
    budget: new Pacer(budget),
    pageSize: 500,
  });
  return { run, events };
}

describe('time left in a sync', () => {
  it('at 100 requests a minute and 1,000 an hour, 1,999 more pages of a 1M-record study take over an hour', () => {
    const { run, events } = runWith({ perMinute: 100, perHour: 1000 });
    run.emit('fetched', 500, 1_000_000);
    const eta = events[0]!.etaMs!;
    // 1,000 requests in the first ten minutes, the other 999 once the first are an hour old.
    expect(eta).toBeGreaterThan(68 * MINUTE);
    expect(eta).toBeLessThan(70 * MINUTE);
    expect(duration(eta)).toBe('69 min');
  });

  it('without a budget, the pace so far; nothing when nothing is expected or left', () => {
    const { run, events } = runWith({});
    run.emit('fetched', 500, 2_000);
    expect(events[0]!.etaMs).toBeGreaterThanOrEqual(0);
    expect(events[0]!.etaMs).toBeLessThan(MINUTE);
    run.emit('fetched', 1_500, 2_000);
    expect(events[1]!.etaMs).toBe(0);
    run.emit('fetched', 10);
    expect(events[2]!.etaMs).toBeUndefined();
  });

  it('reads as a person would', () => {
    expect(duration(400)).toBe('1 s');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(12 * MINUTE)).toBe('12 min');
    expect(duration(125 * MINUTE)).toBe('2 h 5 min');
  });
});
