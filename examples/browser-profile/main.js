// The page's script: `npm run build` bundles it with esbuild into dist/, and esbuild's file loader
// puts DuckDB-WASM's .wasm and worker files beside it, copied from this folder's node_modules. The
// page loads DuckDB from its own origin: nothing comes from a CDN.
// It calls the API through the same-origin proxy of serve.mjs, which adds the keys: the browser
// never holds them (see docs/browser-proxy.md).
import ehWorker from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js';
import mvpWorker from '@duckdb/duckdb-wasm/dist/duckdb-browser-mvp.worker.js';
import ehModule from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm';
import mvpModule from '@duckdb/duckdb-wasm/dist/duckdb-mvp.wasm';
import { Imednet } from 'imednet';
import { openStudyDatabase, profileStudy } from 'imednet/plugins/duckdb';

// The file loader gives paths relative to dist/main.js; DuckDB's worker wants whole URLs.
const url = (path) => new URL(path, import.meta.url).href;
// eh (WebAssembly exception handling) where the browser has it, mvp anywhere else.
const bundles = {
  mvp: { mainModule: url(mvpModule), mainWorker: url(mvpWorker) },
  eh: { mainModule: url(ehModule), mainWorker: url(ehWorker) },
};

const client = new Imednet({
  apiKey: 'set-by-proxy', // the SDK wants non-empty keys; the proxy replaces them
  securityKey: 'set-by-proxy',
  baseUrl: `${location.origin}/imednet`,
});

// One database for the page: DuckDB-WASM starts once (a few seconds), each study is loaded into it.
const db = openStudyDatabase({ bundles });

const $ = (id) => document.getElementById(id);
const percent = (share) => (share === null ? '—' : `${(share * 100).toFixed(1)}%`);
const SPARSEST = 10;

/** A table row of text cells; `numeric` cells are right-aligned. Text only: no value becomes HTML. */
function row(cells, numeric = []) {
  const tr = document.createElement('tr');
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = String(text ?? '');
    if (numeric.includes(i)) td.className = 'n';
    tr.append(td);
  });
  return tr;
}

async function profile(studyKey) {
  document.body.dataset.state = 'running';
  $('run').disabled = true;
  $('forms').replaceChildren();
  $('sparse').replaceChildren();
  try {
    $('status').textContent = `Loading ${studyKey}…`;
    const loaded = await db.loadStudy(client, studyKey, {
      onProgress: (p) => {
        $('status').textContent = `Loading ${studyKey}: ${p.totalRows} records (${p.table})`;
      },
    });
    // The forms of this study only, should an earlier study have left other tables.
    const result = await profileStudy(db, { forms: loaded.tables.map((t) => t.name) });

    for (const form of result.forms) {
      $('forms').append(
        row(
          [form.form, form.formName, form.records, form.deletedRecords, percent(form.completeness)],
          [2, 3, 4],
        ),
      );
    }
    const sparsest = result.fields
      .filter((f) => f.populationRate !== null)
      .sort((a, b) => a.populationRate - b.populationRate || a.form.localeCompare(b.form))
      .slice(0, SPARSEST);
    for (const f of sparsest) {
      $('sparse').append(
        row(
          [
            f.form,
            f.field,
            f.label,
            f.declaredType,
            `${f.populated} of ${f.records} (${percent(f.populationRate)})`,
          ],
          [4],
        ),
      );
    }
    $('status').textContent =
      `${studyKey}: ${loaded.rows} records in ${loaded.tables.length} forms, ` +
      `loaded in ${(loaded.ms / 1000).toFixed(1)} s and profiled in ${(result.ms / 1000).toFixed(1)} s`;
    document.body.dataset.state = 'done';
  } catch (error) {
    // The SDK's errors carry no key or record value, so the message is safe to show.
    $('status').textContent = `${error.name}: ${error.message}`;
    document.body.dataset.state = 'failed';
  } finally {
    $('run').disabled = false;
  }
}

$('ask').addEventListener('submit', (event) => {
  event.preventDefault();
  profile($('study').value.trim());
});
profile($('study').value.trim());
