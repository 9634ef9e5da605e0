// The core cases every runtime runs: listing, get, errors, retries, abort, timeout and a write job.
// Written once; the fixture supplies `it`/`expect`, the SDK module it loaded (`sdk`) and the mock's
// address (`env`). Cases never import the package themselves, so each fixture decides how it is
// loaded (ESM, CJS, a bundle, a CDN URL).

/** Time a case waits after aborting or timing out before calling it a hang. */
const PROMPT_MS = 2500;

export default {
  name: 'core',
  /** @param {import('../harness/types.js').SuiteContext} t */
  define({ it, expect, sdk, env, control }) {
    const client = (options = {}) =>
      new sdk.Imednet({
        apiKey: env.apiKey,
        securityKey: env.securityKey,
        baseUrl: env.baseUrl,
        backoffFactor: 10,
        ...options,
      });
    const study = env.studyKey;
    const pagesOf = (requests, resource) =>
      new Set(
        requests
          .filter((r) => r.method === 'GET' && r.path.endsWith(`/studies/${study}/${resource}`))
          .map((r) => new URLSearchParams(r.search).get('page')),
      );

    it('lists a resource over at least 3 pages with for await', async () => {
      const api = client();
      const mark = await control.mark();
      const keys = [];
      for await (const subject of api.subjects.list(study, { pageSize: 10 })) keys.push(subject.subjectKey);
      const pages = pagesOf(await control.requestsSince(mark), 'subjects');
      expect(pages.size).toBeGreaterThanOrEqual(3);
      expect(keys.length).toBeGreaterThanOrEqual(21);
      // The same listing in one page: same items, same order, nothing lost or repeated across pages.
      const whole = await api.subjects.list(study, { pageSize: 500 }).toArray();
      expect(keys).toEqual(whole.map((s) => s.subjectKey));
    });

    it('gets one item by id, and a missing id is NotFoundError', async () => {
      const api = client();
      const [first] = await api.sites
        .list(study, { pageSize: 1 })
        .pages()
        .next()
        .then((r) => r.value.items);
      const site = await api.sites.get(study, first.siteId);
      expect(site.siteName).toBe(first.siteName);
      const subjects = await api.subjects.list(study).toArray();
      const picked = subjects[Math.floor(subjects.length / 2)];
      const subject = await api.subjects.get(study, picked.subjectKey);
      expect(subject.subjectId).toBe(picked.subjectId);
      const missing = await expect(api.subjects.get(study, 'NO-SUCH-SUBJECT')).rejects();
      expect(missing).toBeInstanceOf(sdk.NotFoundError);
    });

    it('a 404 is a NotFoundError by instanceof and by the guard', async () => {
      const error = await expect(client().sites.list('NO_SUCH_STUDY').toArray()).rejects();
      expect(error).toBeInstanceOf(sdk.NotFoundError);
      expect(error).toBeInstanceOf(sdk.ApiError);
      expect(error).toBeInstanceOf(sdk.ImednetError);
      expect(sdk.isNotFoundError(error)).toBe(true);
      expect(sdk.isServerError(error)).toBe(false);
      expect(error.status).toBe(404);
      expect(error.apiMessage).toContain('NO_SUCH_STUDY');
    });

    it('a 429 with Retry-After is retried after the wait and succeeds', async () => {
      await control.setFaults({ rateLimit: { times: 1, retryAfter: 1, paths: `/studies/${study}/sites` } });
      try {
        const mark = await control.mark();
        const started = Date.now();
        const sites = await client({ retries: 2 }).sites.list(study).toArray();
        const elapsed = Date.now() - started;
        expect(sites.length).toBeGreaterThanOrEqual(1);
        expect(elapsed).toBeGreaterThanOrEqual(900);
        const statuses = (await control.requestsSince(mark)).map((r) => r.status);
        expect(statuses).toEqual([429, 200]);
      } finally {
        await control.setFaults({});
      }
    });

    it('an abort gives AbortError', async () => {
      await control.setFaults({ latencyMs: 10_000 });
      try {
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(), 100);
        const error = await expect(client().studies.list({ signal: controller.signal }).toArray()).rejects();
        expect(error).toBeInstanceOf(sdk.AbortError);
        expect(sdk.isAbortError(error)).toBe(true);
        expect(Date.now() - started).toBeLessThan(PROMPT_MS);
      } finally {
        await control.setFaults({});
      }
    });

    it('a timeout gives TimeoutError', async () => {
      await control.setFaults({ latencyMs: 10_000 });
      try {
        const started = Date.now();
        const error = await expect(client({ timeout: 200, retries: 0 }).studies.list().toArray()).rejects();
        expect(error).toBeInstanceOf(sdk.TimeoutError);
        expect(sdk.isTimeoutError(error)).toBe(true);
        expect(Date.now() - started).toBeLessThan(PROMPT_MS);
      } finally {
        await control.setFaults({});
      }
    });

    it('records.create then jobs.wait reaches a terminal state', async () => {
      const api = client();
      const forms = await api.forms.list(study).toArray();
      const form = forms.find((f) => !f.disabled);
      const variables = await api.variables.list(study, { filter: { formKey: form.formKey } }).toArray();
      // A text answer, valid for its variable (other suites map every record by its type).
      const variable = variables.find((v) => v.variableType === 'TEXT') ?? variables[0];
      const [subject] = await api.subjects
        .list(study, { pageSize: 1 })
        .pages()
        .next()
        .then((r) => r.value.items);
      const filter = { subjectKey: subject.subjectKey, formKey: form.formKey };
      const before = await api.records.list(study, { filter }).toArray();

      const accepted = await api.records.create(study, [
        sdk.createRecord({
          formKey: form.formKey,
          subjectKey: subject.subjectKey,
          data: { [variable.variableName]: 'ABC' },
        }),
      ]);
      const states = [];
      const job = await api.jobs.wait(study, accepted.batchId, {
        interval: 50,
        timeout: 10_000,
        onProgress: (j) => states.push(j.state),
      });
      expect(sdk.isTerminalJobState(job.state)).toBe(true);
      expect(job.state).toBe('completed');
      expect(states.length).toBeGreaterThanOrEqual(2);
      const after = await api.records.list(study, { filter }).toArray();
      expect(after.length).toBe(before.length + 1);
    });
  },
};
