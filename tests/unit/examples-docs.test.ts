// Every ```ts block of README.md and docs/*.md is type-checked and run against the mock API, so an
// example that would fail a reader (a filter on a field the resource lacks, a renamed option) fails
// here. Blocks in other languages (sh, html, js) are left out by their tag alone; a ts block that
// cannot run where this test runs is marked ```ts no-run in the markdown, and the list of those
// is asserted below, so marking one is a visible change.
//
// What a block gets is tests/unit/examples-preamble.ts (the mock as the production host, the keys,
// and the `client`, `apiKey` and `securityKey` a reader carries over from earlier sections), and one
// rewrite: `imednet` import paths point at src/ instead of the built package. The mock's study is
// MYSTUDY, so the blocks keep their study key as written.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../src/testing/index.js';

const ROOT = join(import.meta.dirname, '../..');
const WORK = join(ROOT, '.tmp/examples-docs');
const run = promisify(execFile);

interface Block {
  /** file:line of the opening fence. */
  where: string;
  /** file › the heading the block stands under. */
  section: string;
  lang: string;
  noRun: boolean;
  code: string;
}

/** The fenced blocks of a markdown file, with their language and flags. */
function fencedBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const title = /^#+\s+(.*)$/.exec(lines[i] ?? '');
    if (title) heading = title[1] ?? '';
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 1}: a code fence is never closed`);
    const flags = (open[2] ?? '').split(/\s+/);
    blocks.push({
      where: `${file}:${i + 1}`,
      section: `${file} › ${heading}`,
      lang: open[1] ?? '',
      noRun: flags.includes('no-run'),
      code: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/** `imednet` and its subpaths mapped to their source files, from package.json's exports. */
async function sourceOfSubpaths(): Promise<Map<string, string>> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import?: { default?: string } }>;
  };
  const map = new Map<string, string>();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const built = typeof target === 'string' ? target : target.import?.default;
    if (!built?.startsWith('./dist/')) continue;
    // src/x.js names src/x.ts for both tsx and the compiler (bundler resolution).
    const source = join(ROOT, built.replace(/^\.\/dist\//, 'src/'));
    map.set(subpath === '.' ? 'imednet' : `imednet/${subpath.slice(2)}`, source);
  }
  return map;
}

const GLOBALS = `import type { Imednet } from '${join(ROOT, 'src/index.js')}';
declare global {
  var client: Imednet;
  var apiKey: string;
  var securityKey: string;
}
`;

/** Where the markdown blocks come from. */
async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

describe('the examples in README.md and docs/*.md', async () => {
  const all: Block[] = [];
  for (const file of await markdownFiles()) {
    all.push(...fencedBlocks(file, await readFile(join(ROOT, file), 'utf8')));
  }
  const tsBlocks = all.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
  const runnable = tsBlocks.filter((b) => !b.noRun);
  const files = new Map<Block, string>();
  let server: MockServer;

  beforeAll(async () => {
    await rm(WORK, { recursive: true, force: true });
    await mkdir(WORK, { recursive: true });
    const sources = await sourceOfSubpaths();
    for (const [n, block] of runnable.entries()) {
      const code = block.code.replace(
        /(from\s+|import\s*\(\s*)(['"])(imednet(?:\/[\w/-]+)?)\2/g,
        (_all, lead, quote, name) => {
          const source = sources.get(name);
          if (!source) throw new Error(`${block.where}: imports ${name}, which package.json does not export`);
          return `${lead}${quote}${source}${quote}`;
        },
      );
      const dir = join(WORK, `block-${n}`);
      await mkdir(dir);
      // `export {}` makes every block a module, so blocks never share top-level names.
      const file = join(dir, 'example.mts');
      await writeFile(file, `${code}\nexport {};\n`);
      files.set(block, file);
    }
    await writeFile(join(WORK, 'globals.d.ts'), GLOBALS);
    // Seed 9 has the site the README's write example names (Chicago General Hospital).
    server = await startMockServer({ study: { studyKey: 'MYSTUDY', records: 400, subjects: 20, seed: 9 } });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await rm(WORK, { recursive: true, force: true });
  });

  it('marks only the blocks that cannot run here as no-run', () => {
    expect(tsBlocks.length).toBeGreaterThan(8);
    expect(tsBlocks.filter((b) => b.noRun).map((b) => b.section)).toEqual([
      'README.md › Node ≥ 20.19', // the ESM and the CommonJS import side by side
      'README.md › Deno', // an import map and an npm: specifier
      'README.md › Browser, with a bundler (Vite, esbuild, webpack)', // a page (location.origin)
      'docs/browser-proxy.md › In the page', // a page (location.origin)
    ]);
  });

  it('type-check with the project settings', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!config) throw new Error('tsconfig.json could not be read');
    const program = ts.createProgram([...files.values(), join(WORK, 'globals.d.ts')], {
      ...config.options,
      noEmit: true,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return text;
      const block = [...files].find(([, file]) => file === d.file?.fileName)?.[0];
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const where = block
        ? block.where.replace(/\d+$/, (l) => String(Number(l) + line + 1))
        : relative(ROOT, d.file.fileName);
      return `${where}: ${text}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);

  it.each(runnable.map((b) => [b.where, b] as const))(
    '%s runs against the mock API',
    async (_where, block) => {
      const file = files.get(block);
      if (!file) throw new Error('not written');
      const outcome = await run(
        process.execPath,
        ['--import', 'tsx', '--import', join(import.meta.dirname, 'examples-preamble.ts'), file],
        {
          cwd: join(file, '..'),
          env: {
            PATH: process.env.PATH ?? '',
            IMEDNET_API_KEY: DEFAULT_API_KEY,
            IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
            IMEDNET_EXAMPLES_MOCK_URL: server.url,
          },
          timeout: 60_000,
          maxBuffer: 16 << 20,
        },
      ).catch((error: { stderr?: string; killed?: boolean; message: string }) => {
        throw new Error(
          `${block.where} failed${error.killed ? ' (still running after 60 s)' : ''}:\n${error.stderr || error.message}`,
        );
      });
      expect(outcome.stderr).toBe('');
    },
    90_000,
  );
});
