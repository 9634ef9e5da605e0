/**
 * The host side of the benchmarks' client processes: bundling a client to plain JavaScript and
 * running it in a fresh process. Kept apart from lib.ts, which the clients themselves import (a
 * bundled client must not carry esbuild).
 */
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { BENCH_DIR } from './lib.js';

/**
 * Bundles a benchmark client to plain JavaScript in bench/results/, so that it runs as an
 * application runs the SDK: through the tsx loader the TypeScript compiler's own memory (about 40
 * MB of RSS) would be counted against the client.
 */
export async function bundleClient(entry: string): Promise<string> {
  const outfile = `${BENCH_DIR}results/${entry.replace(/\.ts$/, '.mjs')}`;
  await build({
    entryPoints: [`${BENCH_DIR}${entry}`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    // Native: loaded from node_modules as it is.
    external: ['@duckdb/node-api'],
    logLevel: 'error',
  });
  return outfile;
}

/** Runs a bundled client in a fresh Node process and parses the one JSON line it prints. */
export async function runClientProcess<T>(script: string, args: readonly string[], what: string): Promise<T> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${what} failed (exit code ${code})`);
  return JSON.parse(out.trim()) as T;
}
