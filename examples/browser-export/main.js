// The page's script: bundle it with `npm run build` (esbuild), which writes dist/main.js.
// The page calls the API through the same-origin proxy of serve.mjs, which adds the keys: the
// browser never holds them (see docs/browser-proxy.md).
import { Imednet } from 'imednet';
import { exportStudy, memoryDirectory } from 'imednet/plugins/sinks';
import { downloadBlob, fileSystemDirectory, streamDirectory } from 'imednet/plugins/sinks/browser';
import { csvSink } from 'imednet/plugins/sinks/csv';
import { workflows } from 'imednet/plugins/workflows';

const Client = Imednet.plugin(workflows());
const client = new Client({
  apiKey: 'set-by-proxy', // the SDK wants non-empty keys; the proxy replaces them
  securityKey: 'set-by-proxy',
  baseUrl: `${location.origin}/imednet`,
});

const $ = (id) => document.getElementById(id);
const log = (line) => {
  $('log').textContent += `${line}\n`;
};
const onProgress = (p) => {
  $('progress').textContent = `${p.rows + p.skippedRows} rows (${p.skippedRows} already written), ${p.table}`;
};
const buttons = ['to-folder', 'one-form', 'download'];

// The pickers exist in Chromium-based browsers only; the download works everywhere.
if (typeof showDirectoryPicker !== 'function') $('to-folder').hidden = true;
if (typeof showSaveFilePicker !== 'function') $('one-form').hidden = true;

let controller;
/** Runs one export at a time, with the Stop button wired to its signal. */
async function run(task) {
  controller = new AbortController();
  for (const id of buttons) $(id).disabled = true;
  $('stop').disabled = false;
  try {
    await task(controller.signal);
  } catch (error) {
    // The SDK's errors carry no key or record value, so the message is safe to show.
    log(`${error.name}: ${error.message}`);
  } finally {
    for (const id of buttons) $(id).disabled = false;
    $('stop').disabled = true;
  }
}
$('stop').addEventListener('click', () => controller?.abort());

const studyKey = () => $('study').value.trim();
const summaryLine = (s) =>
  `${s.resumed ? 'Resumed and finished' : 'Exported'} ${s.rows} rows in ${s.tables.length} file(s)` +
  (s.skippedRows ? ` (${s.skippedRows} rows were already there)` : '') +
  (s.alreadyComplete ? ' (the folder already held this export, complete)' : '');

// Every form to a folder the user picks. Resumable: if the tab is closed or Stop is pressed,
// picking the same folder again goes on where the export stopped. The folder keeps the export's
// manifest, .imednet-export.json; an unfinished file is named <form>.csv.partial.
$('to-folder').addEventListener('click', () =>
  run(async (signal) => {
    const folder = await showDirectoryPicker({ id: 'imednet-export', mode: 'readwrite' });
    const sink = csvSink({ directory: fileSystemDirectory(folder) });
    log(summaryLine(await exportStudy(client, studyKey(), sink, { signal, onProgress })));
  }),
);

// One form to one file the user names. The rows stream into the file, which the browser puts in
// place only when the export finishes; if it fails, abort() leaves the file as it was.
$('one-form').addEventListener('click', () =>
  run(async (signal) => {
    const form = $('form').value.trim();
    if (!form) throw new Error('Give a form key');
    const file = await showSaveFilePicker({
      suggestedName: `${form}.csv`,
      types: [{ description: 'CSV', accept: { 'text/csv': ['.csv'] } }],
    });
    const out = streamDirectory(await file.createWritable());
    try {
      log(
        summaryLine(
          await exportStudy(client, studyKey(), csvSink({ directory: out }), {
            forms: [form],
            signal,
            onProgress,
          }),
        ),
      );
    } catch (error) {
      await out.abort(error);
      throw error;
    }
  }),
);

// Every form (or the one given) in memory, then one download per file: any browser, but the
// whole export is held in memory, and a browser may ask before letting a page download several files.
$('download').addEventListener('click', () =>
  run(async (signal) => {
    const form = $('form').value.trim();
    const out = memoryDirectory();
    const options = form ? { forms: [form], signal, onProgress } : { signal, onProgress };
    log(summaryLine(await exportStudy(client, studyKey(), csvSink({ directory: out }), options)));
    for (const name of out.names().filter((n) => n.endsWith('.csv'))) {
      downloadBlob(out.blob(name, 'text/csv'), name);
    }
  }),
);
