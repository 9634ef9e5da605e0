// A local stand-in for an ESM CDN such as esm.sh or jsDelivr's `+esm`: it serves installed packages
// at `/<name>@<version>/<file>`, answers a bare `/<name>@<version>[/<subpath>]` with a small module
// re-exporting the file its `exports` pick for browsers (as esm.sh does), and rewrites bare import specifiers inside served
// modules to URLs of the same server, pinned to the installed version. That rewriting is what real
// CDNs do for dependencies, and it is why a page can import the SDK by URL with no bundler and no
// import map: `ky` and `valibot` arrive as their own CDN modules.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import * as esbuild from 'esbuild';

/** A running CDN. */
export interface Cdn {
  /** Origin, e.g. `http://127.0.0.1:4321`. */
  url: string;
  /** Requests served, for diagnostics: `status path`. */
  log: string[];
  close(): Promise<void>;
}

const JS_HEADERS = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=31536000' };

/** Conditions a CDN resolves `exports` with when building for browsers, in priority order. */
const CONDITIONS = new Set(['browser', 'import', 'module', 'default']);

interface Pkg {
  name: string;
  version: string;
  dir: string;
  json: Record<string, unknown>;
}

/** Picks a target from an `exports` value for one subpath, Node-style: the first matching key wins. */
function pickTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = pickTarget(item);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (!CONDITIONS.has(key)) continue;
      const found = pickTarget(inner);
      if (found) return found;
    }
  }
  return undefined;
}

/** The file a package entry (`.` or `./sub`) resolves to, relative to the package folder. */
function resolveEntry(pkg: Pkg, subpath: string): string | undefined {
  const exports = pkg.json.exports;
  if (exports !== undefined) {
    const keyed =
      exports && typeof exports === 'object' && Object.keys(exports).some((k) => k.startsWith('.'));
    const map = (keyed ? exports : { '.': exports }) as Record<string, unknown>;
    return pickTarget(map[subpath]);
  }
  if (subpath !== '.') return `./${subpath.slice(2)}`;
  const main = pkg.json.module ?? pkg.json.main ?? 'index.js';
  return typeof main === 'string' ? main : undefined;
}

/** Finds `name` the way Node would from a folder: the nearest node_modules/<name> upwards. */
function findPackageDir(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

const splitSpecifier = (spec: string): [string, string] => {
  const parts = spec.split('/');
  const count = spec.startsWith('@') ? 2 : 1;
  return [parts.slice(0, count).join('/'), parts.slice(count).join('/')];
};

/** Starts the CDN over the packages installed under `projectDir/node_modules`. */
export async function startCdn(projectDir: string): Promise<Cdn> {
  const packages = new Map<string, Pkg>();
  const byDir = new Map<string, Pkg>();
  const built = new Map<string, { code: string; exports: string[] }>();
  const log: string[] = [];

  const register = (dir: string): Pkg => {
    const known = byDir.get(dir);
    if (known) return known;
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const pkg: Pkg = { name: String(json.name), version: String(json.version), dir, json };
    packages.set(`${pkg.name}@${pkg.version}`, pkg);
    byDir.set(dir, pkg);
    return pkg;
  };

  /** The CDN path a bare specifier imported from `resolveDir` is rewritten to. */
  const urlFor = (specifier: string, resolveDir: string): string => {
    const [name, rest] = splitSpecifier(specifier);
    const dir = findPackageDir(resolveDir, name);
    if (!dir) throw new Error(`cannot resolve ${specifier} from ${resolveDir}`);
    const pkg = register(dir);
    return `/${pkg.name}@${pkg.version}${rest ? `/${rest}` : ''}`;
  };

  const rewrite = async (file: string): Promise<{ code: string; exports: string[] }> => {
    const cached = built.get(file);
    if (cached !== undefined) return cached;
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'cdn-specifiers',
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
              if (args.kind === 'entry-point') return undefined;
              // Relative imports stay relative (the browser resolves them against this file's URL);
              // `node:` builtins are left for the runtime, as CDNs do for Node-only code paths.
              if (/^(\.|\/|node:)/.test(args.path)) return { path: args.path, external: true };
              return { path: urlFor(args.path, args.resolveDir), external: true };
            });
          },
        },
      ],
    });
    const output = Object.values(result.metafile?.outputs ?? {})[0];
    const entry = { code: result.outputFiles?.[0]?.text ?? '', exports: output?.exports ?? [] };
    built.set(file, entry);
    return entry;
  };

  const lookup = (nameAndVersion: string): Pkg | undefined => {
    const at = nameAndVersion.lastIndexOf('@');
    const hasVersion = at > 0;
    const name = hasVersion ? nameAndVersion.slice(0, at) : nameAndVersion;
    const wanted = hasVersion ? nameAndVersion.slice(at + 1) : '';
    const dir = findPackageDir(projectDir, name);
    const candidates = [...packages.values()].filter((p) => p.name === name);
    if (dir) candidates.push(register(dir));
    // An exact version, a prefix such as `0.1`, or no version at all (the installed one).
    return candidates.find((p) => !wanted || p.version === wanted || p.version.startsWith(`${wanted}.`));
  };

  const server = createServer((req, res) => {
    const send = (status: number, headers: Record<string, string>, body?: string | Buffer) => {
      log.push(`${status} ${req.url}`);
      res.writeHead(status, { 'access-control-allow-origin': '*', ...headers }).end(body);
    };
    const handle = async () => {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://cdn').pathname);
      const [head, rest] = splitSpecifier(pathname.slice(1));
      const pkg = lookup(head);
      if (!pkg) return send(404, { 'content-type': 'text/plain' }, `no package ${head}`);
      const base = `/${pkg.name}@${pkg.version}`;
      const file = rest ? resolve(pkg.dir, rest) : undefined;
      const isFile = file?.startsWith(pkg.dir + sep) && existsSync(file) && statSync(file).isFile();
      if (!isFile) {
        // Not a file: a package entry. Answer with a module that re-exports the file its exports
        // choose; redirects would do too, but a stub keeps the URL the user wrote, as esm.sh does.
        const target = resolveEntry(pkg, rest ? `./${rest}` : '.');
        if (!target) return send(404, { 'content-type': 'text/plain' }, `no entry ${pathname}`);
        const url = JSON.stringify(`${base}/${target.replace(/^\.\//, '')}`);
        const { exports } = await rewrite(resolve(pkg.dir, target));
        const stub = `export * from ${url};\n${exports.includes('default') ? `export { default } from ${url};\n` : ''}`;
        return send(200, JS_HEADERS, stub);
      }
      const type = extname(file as string);
      if (type === '.js' || type === '.mjs') {
        return send(200, JS_HEADERS, (await rewrite(file as string)).code);
      }
      const types: Record<string, string> = {
        '.json': 'application/json',
        '.map': 'application/json',
        '.ts': 'text/plain',
      };
      return send(
        200,
        { 'content-type': types[type] ?? 'application/octet-stream' },
        readFileSync(file as string),
      );
    };
    handle().catch((error: unknown) => send(500, { 'content-type': 'text/plain' }, String(error)));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
