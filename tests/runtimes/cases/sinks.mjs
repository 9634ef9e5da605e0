// The export runner and the text file sinks in every runtime: the study exported to CSV, NDJSON and
// JSON in memory (WebCrypto for the batch hashes, TextEncoder, Blob), read back and compared with
// the record mapper's rows; then an interrupted export resumed to every row exactly once.

export default {
  name: 'sinks',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define({ it, expect, sdk, env, load }) {
    const { workflows } = await load('imednet/plugins/workflows');
    const { exportRows, exportStudy, memoryDirectory } = await load('imednet/plugins/sinks');
    const { csvSink } = await load('imednet/plugins/sinks/csv');
    const { ndjsonSink, jsonSink } = await load('imednet/plugins/sinks/json');
    const Client = sdk.Imednet.plugin(workflows());
    const client = () =>
      new Client({ apiKey: env.apiKey, securityKey: env.securityKey, baseUrl: env.baseUrl });
    const study = env.studyKey;
    const text = (directory, name) => new TextDecoder().decode(directory.bytes(name));

    it('exports every record to NDJSON, JSON and CSV, each file read back equal to the mapped rows', async () => {
      const api = client();
      const expected = new Map();
      for await (const { table, rows } of api.workflows.rows(study)) {
        expected.set(table.name, [
          ...(expected.get(table.name) ?? []),
          ...rows.map((r) => JSON.parse(JSON.stringify(r))),
        ]);
      }
      const nd = memoryDirectory();
      const js = memoryDirectory();
      const csv = memoryDirectory();
      const summary = await exportStudy(api, study, ndjsonSink({ directory: nd }), { batchSize: 40 });
      await exportStudy(api, study, jsonSink({ directory: js }));
      await exportStudy(api, study, csvSink({ directory: csv }));
      const total = [...expected.values()].reduce((n, rows) => n + rows.length, 0);
      expect(summary.rows).toBe(total);
      for (const [name, rows] of expected) {
        const lines = text(nd, `${name}.ndjson`).split('\n').filter(Boolean);
        expect(lines.map((l) => JSON.parse(l))).toEqual(rows);
        expect(JSON.parse(text(js, `${name}.json`))).toEqual(rows);
        // CSV: a header and one CRLF-ended line per row (values checked by the unit tests' parser).
        const csvLines = text(csv, `${name}.csv`).split('\r\n');
        expect(csvLines.pop()).toBe('');
        expect(csvLines.length).toBe(rows.length + 1);
      }
      expect(
        nd.blob(`${[...expected.keys()][0]}.ndjson`, 'application/x-ndjson').size,
      ).toBeGreaterThanOrEqual(1);
    });

    it('resumes an interrupted export: every row exactly once', async () => {
      const api = client();
      const tables = await api.workflows.tables(study);
      const out = memoryDirectory();
      const real = ndjsonSink({ directory: out });
      let written = 0;
      const failing = {
        kind: real.kind,
        manifest: real.manifest,
        open: (c) => real.open(c),
        flush: () => real.flush(),
        close: () => real.close(),
        abort: (r) => real.abort(r),
        writeBatch: (batch, id, bytes) => {
          if (++written > 5) return Promise.reject(new Error('interrupted'));
          return real.writeBatch(batch, id, bytes);
        },
      };
      const options = { studyKey: study, tables, checkpointEvery: 2, retries: 0 };
      const error = await expect(
        exportRows(api.workflows.rows(study, { batchSize: 20 }), failing, options),
      ).rejects();
      expect(error.name).toBe('ExportBatchError');
      const resumed = await exportRows(
        api.workflows.rows(study, { batchSize: 20 }),
        ndjsonSink({ directory: out }),
        options,
      );
      expect(resumed.resumed).toBe(true);
      expect(resumed.skippedBatches).toBe(4);
      const ids = [];
      for (const table of tables) {
        ids.push(
          ...text(out, `${table.name}.ndjson`)
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l).recordId),
        );
      }
      const records = await api.records.list(study).toArray();
      expect(ids.sort((a, b) => a - b)).toEqual(records.map((r) => r.recordId).sort((a, b) => a - b));
    });
  },
};
