/** Test support for export sinks. */
import type { ExportSink } from '../../src/plugins/sinks/index.js';

/**
 * The sink with another `writeBatch` (which may call the sink's own): every other member is the
 * sink's, `bytesWritten` included, so that a test can interrupt or fail writes at will.
 */
export function withWriteBatch(sink: ExportSink, writeBatch: ExportSink['writeBatch']): ExportSink {
  return {
    kind: sink.kind,
    manifest: sink.manifest,
    get bytesWritten() {
      return sink.bytesWritten;
    },
    open: (context) => sink.open(context),
    writeBatch,
    flush: () => sink.flush(),
    close: () => sink.close(),
    abort: (reason) => sink.abort(reason),
  };
}
