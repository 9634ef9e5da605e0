// Bundler checks of the installed package: a browser bundle and a workerd bundle of the root entry
// must build without Node (no node:*, no require, no process/Buffer/global), must evaluate without
// touching any runtime global, must stay under the size budget, and must not reach the heavy
// optional libraries. Sizes of every subpath entry are measured the same way.
import { builtinModules } from 'node:module';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/**
 * Root entry budget, gzip bytes. 15 kB until issue 9's hardening: the explicit retry loop with
 * bounded body reads (+1.2 kB; ky's own retry and timeout code stays in the bundle unused), typed
 * get() checks and `in` filters merged in sort order (+0.8 kB), then issue 14's validation fast path,
 * adaptive page pool, one Retry-After pause per client and request budget (+1.6 kB) took the root to
 * 18.5 kB. 19 kB keeps that with little room: a larger root must buy speed or safety and say so here.
 */
export const ROOT_GZIP_BUDGET = 19 * 1024;

/** Libraries that only plugins and adapters may load; the root entry must never reach them. */
const HEAVY =
  /^(@duckdb\/|duckdb|apache-arrow|idb(\/|$)|better-sqlite3|sql\.js|sqlite3|@libsql\/|bun:sqlite|node:sqlite)/;

/** Node's builtin module names, with and without `node:`. */
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** How each bundle target resolves packages. */
export const TARGETS = {
  browser: { platform: 'browser', conditions: ['browser'], mainFields: ['browser', 'module', 'main'] },
  // The resolution wrangler uses for Workers.
  workerd: {
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
  },
} as const satisfies Record<string, Pick<esbuild.BuildOptions, 'platform' | 'conditions' | 'mainFields'>>;

/** A bundle target name. */
export type TargetName = keyof typeof TARGETS;

/** Identifiers the core may not read, replaced by a marker the check then looks for. */
const FORBIDDEN_GLOBALS = ['process', 'Buffer', 'require', 'global', '__dirname', '__filename'];
const MARKER = '__imednet_forbidden_';

/**
 * An esbuild plugin that fails the build when anything in the graph imports a Node builtin, calls
 * require(), or (with `heavy`) reaches one of the heavy optional libraries.
 */
export function guardPlugin(options: { heavy?: boolean } = {}): esbuild.Plugin {
  return {
    name: 'imednet-runtime-guard',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const from = args.importer ? ` (imported by ${short(args.importer)})` : '';
        if (NODE_BUILTINS.has(args.path) || args.path.startsWith('node:')) {
          return { errors: [{ text: `imports the Node builtin ${args.path}${from}` }] };
        }
        if (args.kind === 'require-call' || args.kind === 'require-resolve') {
          return { errors: [{ text: `calls require(${JSON.stringify(args.path)})${from}` }] };
        }
        if (options.heavy && HEAVY.test(args.path)) {
          return { errors: [{ text: `reaches ${args.path}, which must stay out of the root entry${from}` }] };
        }
        return undefined;
      });
    },
  };
}

const short = (path: string) => path.replace(/^.*?node_modules\//, '');

/** The module a line of an unminified esbuild bundle belongs to (from its `// path` headers). */
function moduleIndex(code: string): (line: number) => string {
  const headers: { line: number; path: string }[] = [];
  code.split('\n').forEach((text, i) => {
    const match = /^\s*\/\/ ((?:node_modules\/)?\S+\.[cm]?[jt]s)$/.exec(text);
    if (match?.[1]) headers.push({ line: i + 1, path: short(match[1]) });
  });
  return (line) => {
    let found = '?';
    for (const h of headers) {
      if (h.line > line) break;
      found = h.path;
    }
    return found;
  };
}

/** Web or runtime globals a module might touch while it is evaluated. */
function runtimeGlobalNames(): string[] {
  const intrinsics = new Set(Object.getOwnPropertyNames(vm.runInNewContext('globalThis')));
  const fromNode = Object.getOwnPropertyNames(globalThis).filter((name) => !intrinsics.has(name));
  const elsewhere = [
    ...FORBIDDEN_GLOBALS,
    'window',
    'self',
    'document',
    'location',
    'navigator',
    'localStorage',
    'sessionStorage',
    'indexedDB',
    'caches',
    'XMLHttpRequest',
    'WebSocket',
    'Deno',
    'Bun',
    'EdgeRuntime',
    'HTMLRewriter',
    'module',
    'exports',
    'console',
  ];
  return [...new Set([...fromNode, ...elsewhere])];
}

/**
 * Dependencies' feature probes at load time, allowed by name. ky checks at import which web APIs
 * exist (typeof checks, a throwaway Request and TextEncoder); the SDK's own modules get no pass.
 */
const LOAD_TIME_ALLOWED: Record<string, readonly string[]> = {
  ky: ['ReadableStream', 'Request', 'AbortController', 'AbortSignal', 'FormData', 'TextEncoder'],
};

/** What one guarded bundle of the root entry found. */
export interface GuardResult {
  target: TargetName;
  /** Problems: empty when the bundle is clean. */
  problems: string[];
  /** Load-time global reads by dependencies that the allowlist covers, for the report. */
  allowed: string[];
  exports: number;
}

/** Builds the root entry for `target` with the guard, then evaluates it with every runtime global trapped. */
export async function guardRootEntry(
  cwd: string,
  target: TargetName,
  entry = 'imednet',
): Promise<GuardResult> {
  const problems: string[] = [];
  let code = '';
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: cwd,
      bundle: true,
      write: false,
      format: 'iife',
      globalName: '__imednet',
      target: 'es2022',
      ...TARGETS[target],
      define: Object.fromEntries(
        FORBIDDEN_GLOBALS.flatMap((name) => [
          [name, `${MARKER}${name}`],
          [`globalThis.${name}`, `${MARKER}${name}`],
        ]),
      ),
      plugins: [guardPlugin({ heavy: true })],
      logLevel: 'silent',
    });
    code = result.outputFiles?.[0]?.text ?? '';
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    for (const e of failure.errors ?? [{ text: String(error) }]) problems.push(`build: ${e.text}`);
    return { target, problems, allowed: [], exports: 0 };
  }

  const moduleAt = moduleIndex(code);
  code.split('\n').forEach((text, i) => {
    for (const match of text.matchAll(new RegExp(`${MARKER}(\\w+)`, 'g'))) {
      problems.push(`reads ${match[1]} in ${moduleAt(i + 1)}`);
    }
  });

  // Evaluate in a bare context where every runtime global is a getter that records who read it.
  const touched: { name: string; module: string }[] = [];
  const context = vm.createContext({});
  const sandboxGlobal = vm.runInContext('globalThis', context) as Record<string, unknown>;
  for (const name of runtimeGlobalNames()) {
    const real = (globalThis as Record<string, unknown>)[name];
    Object.defineProperty(sandboxGlobal, name, {
      configurable: true,
      get() {
        const frame = new Error().stack?.split('\n').find((l) => l.includes('imednet-bundle.js:'));
        const line = Number(/imednet-bundle\.js:(\d+)/.exec(frame ?? '')?.[1] ?? 0);
        touched.push({ name, module: line ? moduleAt(line) : '?' });
        return FORBIDDEN_GLOBALS.includes(name) ? undefined : real;
      },
    });
  }
  let exports = 0;
  try {
    vm.runInContext(code, context, { filename: 'imednet-bundle.js' });
    exports = Object.keys(vm.runInContext('__imednet', context) as object).length;
  } catch (error) {
    problems.push(`evaluation threw: ${String(error)}`);
  }
  const allowed: string[] = [];
  for (const { name, module } of touched) {
    const pkg = module.startsWith('imednet/') ? 'imednet' : (module.split('/')[0] ?? '?');
    const line = `${name} in ${module}`;
    if (pkg !== 'imednet' && LOAD_TIME_ALLOWED[pkg]?.includes(name)) {
      if (!allowed.includes(line)) allowed.push(line);
    } else {
      problems.push(`touches the global ${line} when evaluated`);
    }
  }
  if (exports === 0) problems.push('the bundle exported nothing');
  return { target, problems: [...new Set(problems)], allowed, exports };
}

/** Size of one entry, bundled and minified for browsers. */
export interface EntrySize {
  /** Specifier, e.g. `imednet` or `imednet/testing`. */
  entry: string;
  minified: number;
  gzip: number;
  /** Bytes of input per package, largest first. */
  byPackage: [string, number][];
  /** Packages left external (peer dependencies and Node builtins of subpath entries). */
  external: string[];
}

/** Bundles, minifies and gzips one entry. The root entry is bundled with everything; subpaths leave peers external. */
export async function measureEntry(
  cwd: string,
  entry: string,
  external: readonly string[] = [],
): Promise<EntrySize> {
  const isRoot = entry === 'imednet';
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: cwd,
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    target: 'es2022',
    ...TARGETS.browser,
    metafile: true,
    external: isRoot ? [] : [...external, 'node:*'],
    plugins: isRoot ? [guardPlugin({ heavy: true })] : [],
    logLevel: 'silent',
  });
  const output = result.outputFiles?.[0]?.contents ?? new Uint8Array();
  const perPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(result.metafile?.inputs ?? {})) {
    const rel = short(path);
    const pkg = rel.startsWith('@') ? rel.split('/').slice(0, 2).join('/') : (rel.split('/')[0] ?? rel);
    perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + input.bytes);
  }
  const heavy = [...perPackage.keys()].filter((p) => HEAVY.test(p));
  if (isRoot && heavy.length > 0) throw new Error(`the root entry reaches ${heavy.join(', ')}`);
  return {
    entry,
    minified: output.byteLength,
    gzip: gzipSync(output, { level: 9 }).byteLength,
    byPackage: [...perPackage.entries()].sort((a, b) => b[1] - a[1]),
    external: isRoot ? [] : [...external],
  };
}
