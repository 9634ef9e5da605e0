/**
 * `imednet` and its subpath imports resolved to this repository's src/, from package.json's
 * exports: an example written against the published package is bundled (esbuild) or type-checked
 * (TypeScript `paths`) without a build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as esbuild from 'esbuild';

const ROOT = join(import.meta.dirname, '../..');

/** Each import specifier (`imednet`, `imednet/plugins/sinks`, ...) and its source file. */
export function imednetSources(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import?: { default?: string } }>;
  };
  const map = new Map<string, string>();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const built = typeof target === 'string' ? target : target.import?.default;
    if (!built?.startsWith('./dist/')) continue;
    const source = join(ROOT, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
    map.set(subpath === '.' ? 'imednet' : `imednet/${subpath.slice(2)}`, source);
  }
  return map;
}

/** An esbuild plugin resolving `imednet` imports to src/; an unknown subpath fails the build. */
export function imednetFromSource(): esbuild.Plugin {
  const sources = imednetSources();
  return {
    name: 'imednet-from-source',
    setup(build) {
      build.onResolve({ filter: /^imednet(\/|$)/ }, (args) => {
        const path = sources.get(args.path);
        return path ? { path } : { errors: [{ text: `package.json exports no ${args.path}` }] };
      });
    },
  };
}
