// Cloudflare Workers: bundle a Worker the way wrangler does (esbuild, workerd conditions), then run
// it in workerd through miniflare's Node API and send it one request. No nodejs_compat flag: the
// SDK must run on the plain Workers runtime.
import * as esbuild from 'esbuild';
import { Miniflare } from 'miniflare';
import { guardPlugin, TARGETS } from './bundles.js';

/** A compatibility date the installed workerd supports. */
export const DEFAULT_COMPATIBILITY_DATE = '2025-09-01';

/** Options of {@link runWorker}. */
export interface WorkerRun {
  /** The Worker's entry module. */
  entry: string;
  /** Folder whose node_modules resolve the Worker's imports. */
  cwd: string;
  bindings: Record<string, string>;
  /** D1 databases to bind, by binding name (each an empty in-memory database). */
  d1Databases?: string[];
  compatibilityDate?: string;
  compatibilityFlags?: string[];
  /** Path and query of the one request sent to the Worker. */
  path?: string;
  timeoutMs?: number;
}

/** Bundles and runs a Worker; resolves to the status and body of its answer. */
export async function runWorker(options: WorkerRun): Promise<{ status: number; body: string }> {
  const bundle = await esbuild.build({
    entryPoints: [options.entry],
    absWorkingDir: options.cwd,
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    ...TARGETS.workerd,
    plugins: [guardPlugin()],
    logLevel: 'silent',
  });
  const script = bundle.outputFiles?.[0]?.text ?? '';
  const mf = new Miniflare({
    modules: true,
    script,
    bindings: options.bindings,
    d1Databases: options.d1Databases ?? [],
    compatibilityDate: options.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
    compatibilityFlags: options.compatibilityFlags ?? [],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = mf.dispatchFetch(`http://worker.local${options.path ?? '/'}`).then(async (response) => ({
      status: response.status,
      body: await response.text(),
    }));
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the Worker did not answer in time')),
        options.timeoutMs ?? 120_000,
      );
    });
    return await Promise.race([answer, limit]);
  } finally {
    clearTimeout(timer);
    await mf.dispose();
  }
}
