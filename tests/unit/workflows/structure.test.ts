import { describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { AbortError, ConfigurationError } from '../../../src/core/errors.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

// A little latency, so that requests made together are seen in flight together.
const { study, api } = useMockApi({ records: 200 }, { faults: { latencyMs: 10 } });
const Client = Imednet.plugin(workflows());
const client = (options: { structureTtl?: number } = {}) => {
  const Plugged = Imednet.plugin(workflows(options));
  return new Plugged({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
};

const listingsOf = (segment: string) => api.requests.filter((r) => r.path.endsWith(`/${segment}`)).length;

describe('client.workflows.structure', () => {
  it('gives intervals → forms → variables and the sites, as the API lists them', async () => {
    const structure = await client().workflows.structure('DEMO');
    expect(structure.studyKey).toBe('DEMO');
    expect(structure.sites.map((s) => s.siteId)).toEqual(study.sites.map((s) => s.siteId));
    expect(structure.forms.map((f) => f.form.formKey)).toEqual(study.forms.map((f) => f.formKey));
    // Every variable of the study sits under its form, in sequence order; none is lost.
    const placed = structure.forms.flatMap((f) => f.variables.map((v) => v.variableId));
    expect(placed.sort((a, b) => a - b)).toEqual(
      study.variables.map((v) => v.variableId).sort((a, b) => a - b),
    );
    expect(structure.unplacedVariables).toEqual([]);
    for (const { form, variables } of structure.forms) {
      expect(variables.every((v) => v.formId === form.formId)).toBe(true);
      const sequences = variables.map((v) => v.sequence ?? 0);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
    // Intervals in sequence order, each with the forms the API schedules in it.
    const sequences = structure.intervals.map((i) => i.interval.intervalSequence ?? 0);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    for (const { interval, forms } of structure.intervals) {
      const source = study.intervals.find((i) => i.intervalId === interval.intervalId)!;
      expect(forms.map((f) => f.form.formKey)).toEqual((source.forms ?? []).map((f) => f.formKey));
    }
    // Lookups by key, id and name.
    const ae = structure.form('AE')!;
    expect(structure.form(ae.form.formId)).toBe(ae);
    const first = structure.intervals[0]!;
    expect(structure.interval(first.interval.intervalName)).toBe(first);
    expect(structure.site(study.sites[0]!.siteName)?.siteId).toBe(study.sites[0]!.siteId);
  });

  it('fetches the four listings at once, once per study while the cache is fresh', async () => {
    const c = client();
    const [a, b] = await Promise.all([c.workflows.structure('DEMO'), c.workflows.structure('DEMO')]);
    expect(b).toBe(a);
    expect(await c.workflows.structure('DEMO')).toBe(a);
    expect(['intervals', 'forms', 'variables', 'sites'].map(listingsOf)).toEqual([1, 1, 1, 1]);
    // All four were in flight together.
    const structural = api.requests.filter((r) => /\/(intervals|forms|variables|sites)$/.test(r.path));
    expect(Math.max(...structural.map((r) => r.inFlight))).toBe(4);

    const again = await c.workflows.structure('DEMO', { refresh: true });
    expect(again).not.toBe(a);
    expect(listingsOf('forms')).toBe(2);
    c.workflows.clearStructureCache('DEMO');
    await c.workflows.structure('DEMO');
    expect(listingsOf('forms')).toBe(3);
  });

  it('does not cache with structureTtl 0, and refuses a bad ttl', async () => {
    const c = client({ structureTtl: 0 });
    await c.workflows.structure('DEMO');
    await c.workflows.structure('DEMO');
    expect(listingsOf('variables')).toBe(2);
    expect(() => client({ structureTtl: -1 })).toThrow(ConfigurationError);
  });

  it('an abort stops the caller’s wait with AbortError; a failed fetch is not kept', async () => {
    const c = new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
    const controller = new AbortController();
    const pending = c.workflows.structure('DEMO', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);

    await expect(c.workflows.structure('NOPE')).rejects.toThrow(/404|not found/i);
    const before = listingsOf('forms');
    await expect(c.workflows.structure('NOPE')).rejects.toThrow();
    expect(listingsOf('forms')).toBe(before + 1);
  });
});
