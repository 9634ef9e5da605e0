/**
 * imednet/plugins/orchestration runs in Node, Deno, Bun, Workers and browsers: the modules it loads
 * import no Node builtin and no package at all, and touch no runtime-specific global.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const ENTRY = join(SRC, 'plugins/orchestration/index.ts');
const STATEMENT = /^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms;

/** Every module loaded at run time from `entry` (type-only imports left out), and every specifier met. */
function runtimeGraph(entry: string): { files: string[]; specifiers: string[] } {
  const files = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, typeOnly, from] of readFileSync(file, 'utf8').matchAll(STATEMENT)) {
      if (typeOnly || !from) continue;
      specifiers.add(from);
      if (from.startsWith('.')) visit(resolve(dirname(file), from.replace(/\.js$/, '.ts')));
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(SRC, f)).sort(), specifiers: [...specifiers] };
}

describe('imednet/plugins/orchestration stays runtime-neutral', () => {
  const graph = runtimeGraph(ENTRY);

  it('loads only its own and the core modules: no node:*, no package', () => {
    expect(graph.specifiers.filter((s) => !s.startsWith('.'))).toEqual([]);
    expect(
      graph.files.filter((f) => !f.startsWith('plugins/orchestration/') && !f.startsWith('core/')),
    ).toEqual([]);
  });

  it('names no Node or Deno global in its own modules', () => {
    for (const file of graph.files.filter((f) => f.startsWith('plugins/orchestration/'))) {
      const code = readFileSync(join(SRC, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\b(process|Buffer|require|Deno|Bun|__dirname)\b/);
    }
  });
});
