// The workflows plugin in every runtime: the study structure, records by criteria (checked against
// a plain filter over the whole study, read with the core listing) and the record mapper's typed
// rows. Written once; the fixture supplies `it`/`expect`, the loader and the mock's address.

export default {
  name: 'workflows',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define({ it, expect, sdk, env, load }) {
    const { workflows, RECORD_COLUMNS } = await load('imednet/plugins/workflows');
    const Client = sdk.Imednet.plugin(workflows());
    const client = () =>
      new Client({ apiKey: env.apiKey, securityKey: env.securityKey, baseUrl: env.baseUrl });
    const study = env.studyKey;

    it('structure: intervals → forms → variables and the sites, every variable under its form', async () => {
      const api = client();
      const [structure, forms, variables, sites] = await Promise.all([
        api.workflows.structure(study),
        api.forms.list(study).toArray(),
        api.variables.list(study).toArray(),
        api.sites.list(study).toArray(),
      ]);
      expect(structure.forms.map((f) => f.form.formKey)).toEqual(forms.map((f) => f.formKey));
      expect(structure.sites.length).toBe(sites.length);
      const placed = structure.forms.reduce((n, f) => n + f.variables.length, 0);
      expect(placed + structure.unplacedVariables.length).toBe(variables.length);
      expect(structure.intervals.length).toBeGreaterThanOrEqual(1);
      // Cached: the second call is the same object.
      expect(await api.workflows.structure(study)).toBe(structure);
    });

    it('records by criteria equal a plain filter over the whole study', async () => {
      const api = client();
      const [records, subjects, sites] = await Promise.all([
        api.records.list(study).toArray(),
        api.subjects.list(study).toArray(),
        api.sites.list(study).toArray(),
      ]);
      const site = sites.find((s) => records.some((r) => r.siteId === s.siteId));
      const forms = [...new Set(records.map((r) => r.formKey))].slice(0, 2);
      const status = subjects[0].subjectStatus;
      const keys = new Set(subjects.filter((s) => s.subjectStatus === status).map((s) => s.subjectKey));
      const got = await api.workflows
        .records(study, { site: site.siteName, form: forms, subjectStatus: status })
        .toArray();
      const expected = records.filter(
        (r) => r.siteId === site.siteId && forms.includes(r.formKey) && keys.has(r.subjectKey),
      );
      expect(got.map((r) => r.recordId)).toEqual(expected.map((r) => r.recordId));
    });

    it('the record mapper gives every record once as a typed row, in bounded batches', async () => {
      const api = client();
      const records = await api.records.list(study).toArray();
      const tables = await api.workflows.tables(study);
      let rows = 0;
      let numbers = 0;
      let dates = 0;
      const seen = new Set();
      for await (const batch of api.workflows.rows(study, { batchSize: 50 })) {
        expect(batch.rows.length).toBeLessThan(51);
        const spec = tables.find((t) => t.name === batch.table.name);
        expect(batch.table.columns.map((c) => c.name)).toEqual(spec.columns.map((c) => c.name));
        for (const row of batch.rows) {
          rows++;
          seen.add(row.recordId);
          expect(Object.keys(row).slice(0, RECORD_COLUMNS.length)).toEqual(RECORD_COLUMNS.map((c) => c.name));
          expect(row.dateModified instanceof Date).toBe(true);
          for (const column of batch.table.columns) {
            const value = row[column.name];
            expect(value === undefined).toBe(false);
            if (value === null) continue;
            if (column.type === 'number' || column.type === 'integer') {
              expect(typeof value).toBe('number');
              numbers++;
            }
            if (column.type === 'date' || column.type === 'datetime') {
              expect(value instanceof Date).toBe(true);
              dates++;
            }
            if (column.type === 'boolean') expect(typeof value).toBe('boolean');
          }
        }
      }
      expect(rows).toBe(records.length);
      expect(seen.size).toBe(records.length);
      expect(numbers).toBeGreaterThanOrEqual(1);
      expect(dates).toBeGreaterThanOrEqual(records.length + 1);
    });
  },
};
