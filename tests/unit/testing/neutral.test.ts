import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const dir = fileURLToPath(new URL('../../../src/testing/', import.meta.url));
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [f, readFileSync(`${dir}${f}`, 'utf8')] as const);

describe('imednet/testing stays runtime-neutral', () => {
  it('has no static node:* import outside type-only imports', () => {
    for (const [file, text] of sources) {
      const imports = [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)];
      for (const [, typeOnly, from] of imports) {
        if (from!.startsWith('node:')) expect(typeOnly, `${file} imports ${from} at load`).toBeTruthy();
      }
    }
  });

  it('loads node:http only inside startMockServer', () => {
    const server = sources.find(([f]) => f === 'server.ts')![1];
    expect(server).toContain("await import('node:http')");
  });

  it('reads no runtime global while its modules load', async () => {
    // msw.ts is left out: msw itself checks globals when imported (see the module's note).
    const files = sources.map(([f]) => f).filter((f) => f !== 'msw.ts' && f !== 'index.ts');
    const names = ['fetch', 'Response', 'Request', 'Headers', 'TextEncoder', 'ReadableStream', 'setTimeout'];
    const saved = names.map((n) => Object.getOwnPropertyDescriptor(globalThis, n));
    const touched: string[] = [];
    names.forEach((name, i) => {
      const d = saved[i]!;
      let value = 'value' in d ? d.value : d.get?.call(globalThis);
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() {
          if (new Error().stack?.includes('/src/testing/')) touched.push(name);
          return value;
        },
        set(next) {
          value = next;
        },
      });
    });
    try {
      vi.resetModules();
      for (const file of files) await import(/* @vite-ignore */ `${dir}${file}`);
    } finally {
      names.forEach((name, i) => {
        Object.defineProperty(globalThis, name, saved[i]!);
      });
    }
    expect(touched).toEqual([]);
  });
});
