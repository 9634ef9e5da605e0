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
import { ROOT } from '../runtimes/host/paths.js';
import { imednetSources } from '../support/imednet-source.js';

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

/**
 * `imednet` and its subpaths mapped to their source files, from package.json's exports, as
 * `src/x.js`: the name tsx and the compiler (bundler resolution) both take for src/x.ts.
 */
function sourceOfSubpaths(): Map<string, string> {
  return new Map([...imednetSources()].map(([name, source]) => [name, source.replace(/\.ts$/, '.js')]));
}

/** The project's compiler settings (tsconfig.json), without output. */
function compilerOptions(): ts.CompilerOptions {
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
  return { ...config.options, noEmit: true };
}

/** Type-checks `files` together; one entry per problem in them, with its file and 0-based line. */
function typeCheck(files: string[]): { file?: string; line: number; text: string }[] {
  const program = ts.createProgram(files, compilerOptions());
  // Only the examples' own problems: src/ itself is the project type-check's job.
  const own = new Set(files);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || own.has(d.file.fileName));
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return { line: 0, text };
    return { file: d.file.fileName, line: d.file.getLineAndCharacterOfPosition(d.start).line, text };
  });
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
    const sources = sourceOfSubpaths();
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
      'README.md › PostgreSQL', // a PostgreSQL server
      'README.md › Object storage: S3 and Cloudflare R2', // an S3 bucket
      'README.md › Object storage: S3 and Cloudflare R2', // a Worker's R2 binding
      'README.md › In a web page, with no server', // a page (a button, a folder picker)
      'docs/browser-proxy.md › In the page', // a page (location.origin)
    ]);
  });

  it('type-check with the project settings', () => {
    const problems = typeCheck([...files.values(), join(WORK, 'globals.d.ts')]).map(
      ({ file, line, text }) => {
        const block = [...files].find(([, written]) => written === file)?.[0];
        const where = block
          ? block.where.replace(/\d+$/, (l) => String(Number(l) + line + 1))
          : relative(ROOT, file ?? '');
        return `${where}: ${text}`;
      },
    );
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
            // A block that writes files under tmpdir() writes them into its own folder here.
            TMPDIR: join(file, '..'),
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

interface JsdocExample {
  /** src/file.ts:line of the tag. */
  where: string;
  code: string;
  /** The type (or the property of one) it illustrates, when the tag is on a type or an interface's property. */
  option?: { owner: string; property?: string };
  /** The module it is written in. */
  module: string;
}

/** Every `@example` in src/, with the option it documents when it documents one. */
async function jsdocExamples(): Promise<JsdocExample[]> {
  const examples: JsdocExample[] = [];
  const files = (await readdir(join(ROOT, 'src'), { recursive: true }))
    .filter((f) => f.endsWith('.ts'))
    .sort();
  for (const file of files) {
    const path = `src/${file}`;
    const source = ts.createSourceFile(
      path,
      await readFile(join(ROOT, path), 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    const visit = (node: ts.Node) => {
      for (const tag of ts.getJSDocTags(node)) {
        if (tag.tagName.text !== 'example') continue;
        const code = ts.getTextOfJSDocComment(tag.comment) ?? '';
        const where = `${path}:${source.getLineAndCharacterOfPosition(tag.getStart()).line + 1}`;
        const example: JsdocExample = { where, code, module: join(ROOT, path.replace(/\.ts$/, '.js')) };
        if (ts.isPropertySignature(node) && ts.isInterfaceDeclaration(node.parent)) {
          example.option = { owner: node.parent.name.text, property: node.name.getText() };
        } else if (ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node)) {
          example.option = { owner: node.name.text };
        }
        examples.push(example);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return examples;
}

type Exports = Map<string, { from: string; value: boolean }>;

/** What each of `modules` (src/….js paths) exports: each name, where from, and whether it is a value. */
function exportsOf(modules: string[]): Map<string, Exports> {
  const program = ts.createProgram(
    modules.map((js) => js.replace(/\.js$/, '.ts')),
    compilerOptions(),
  );
  const checker = program.getTypeChecker();
  const all = new Map<string, Exports>();
  for (const module of modules) {
    const names: Exports = new Map();
    const file = program.getSourceFile(module.replace(/\.js$/, '.ts'));
    const symbol = file && checker.getSymbolAtLocation(file);
    for (const exported of symbol ? checker.getExportsOfModule(symbol) : []) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      names.set(exported.name, { from: module, value: (target.flags & ts.SymbolFlags.Value) !== 0 });
    }
    all.set(module, names);
  }
  return all;
}

// The JSDoc examples are fragments. Each may use the names its own module exports and any name the
// package exports (imported for it here); the `client`, `apiKey` and `securityKey` of the README (a
// client with the sync plugin, since the cache's examples use `client.cache`); and the placeholders
// below, which stand for what the reader brings. A type's example may instead be a value of it, an
// option's a value of the option or of the options object. They are type-checked, not run (several
// are for Bun, Workers or a browser).
const JSDOC_GLOBALS = `import type { Imednet, Plugin } from '${join(ROOT, 'src/index.js')}';
import type { SyncCache } from '${join(ROOT, 'src/plugins/sync/index.js')}';
import type { Workflows } from '${join(ROOT, 'src/plugins/workflows/index.js')}';
import type { StorageAdapter } from '${join(ROOT, 'src/storage/index.js')}';
import type { SqlExecutorSource, syncExecutor } from '${join(ROOT, 'src/storage/sqlite/index.js')}';
declare global {
  var client: Imednet & { cache: SyncCache; workflows: Workflows };
  var apiKey: string;
  var securityKey: string;
  // The reader's own: a storage adapter, a plugin, a metrics sink, a job's batch id, a writer, an
  // adapter to test, a test runner's test(), a SQL executor, a database handle, and a progress
  // display's pages left and time per page.
  var storage: StorageAdapter;
  var myPlugin: Plugin;
  var metrics: { count(status: number): void };
  var batchId: string;
  var write: (chunk: readonly unknown[]) => void;
  var myAdapter: () => StorageAdapter;
  var test: (name: string, run: () => Promise<void>) => void;
  var executor: SqlExecutorSource;
  var myDatabase: Parameters<typeof syncExecutor>[0];
  var pagesLeft: number;
  var msPerPage: number;
}
`;

// What a Worker's code gets from its platform, as far as the Cloudflare examples use it: the
// DurableObject base class of 'cloudflare:workers' and the D1Database binding type.
const WORKERS_GLOBALS = `declare module 'cloudflare:workers' {
  export class DurableObject {
    ctx: { storage: import('${join(ROOT, 'src/storage/sqlite/durable-object.js')}').DurableObjectStorageLike };
  }
}
type D1Database = import('${join(ROOT, 'src/storage/sqlite/d1.js')}').D1DatabaseLike;
`;

describe('the @example blocks of src/', async () => {
  const examples = await jsdocExamples();
  const work = join(WORK, 'jsdoc');

  it('compile, each as statements or as a value of the type or option it documents', async () => {
    expect(examples.length).toBeGreaterThan(30);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const sources = sourceOfSubpaths();
    const entries = [...new Set(sources.values())];
    const modules = exportsOf([...entries, ...examples.map((e) => e.module)]);
    // A name two entries export comes from the first (the root entry).
    const publicNames: Exports = new Map();
    for (const entry of entries) {
      for (const [name, from] of modules.get(entry) ?? [])
        if (!publicNames.has(name)) publicNames.set(name, from);
    }
    const variants = new Map<string, JsdocExample>();
    for (const [n, example] of examples.entries()) {
      const names = new Map([...publicNames, ...(modules.get(example.module) ?? [])]);
      const used = new Set<string>();
      const scanner = ts.createScanner(
        ts.ScriptTarget.Latest,
        true,
        ts.LanguageVariant.Standard,
        example.code,
      );
      for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
        if (token === ts.SyntaxKind.Identifier && names.has(scanner.getTokenText()))
          used.add(scanner.getTokenText());
      }
      // An example that imports for itself keeps its own imports (rewritten to src/).
      const ownImports = /^\s*import\s/m.test(example.code);
      const imports = ownImports
        ? ''
        : [...used]
            .map((name) => {
              const { from, value } = names.get(name) ?? { from: '', value: true };
              return `import { ${value ? '' : 'type '}${name} } from '${from}';\n`;
            })
            .join('');
      const code = example.code.replace(
        /(from\s+)(['"])(imednet(?:\/[\w/-]+)?)\2/g,
        (_all, lead, quote, name) => {
          return `${lead}${quote}${sources.get(name) ?? name}${quote}`;
        },
      );
      const bodies = [`${code}\n`];
      const option = example.option;
      // A property's example may show the property's value or the object that holds it.
      const types = !option
        ? []
        : option.property === undefined
          ? ['Owner']
          : [`Owner['${option.property}']`, 'Partial<Owner>'];
      for (const type of types) {
        bodies.push(
          `import type { ${option?.owner} as Owner } from '${example.module}';\nconst value: ${type} = (\n${code}\n);\nvoid value;\n`,
        );
      }
      for (const [v, body] of bodies.entries()) {
        const file = join(work, `example-${n}-${v}.mts`);
        await writeFile(file, `${imports}${body}export {};\n`);
        variants.set(file, example);
      }
    }
    await writeFile(join(work, 'globals.d.ts'), JSDOC_GLOBALS);
    await writeFile(join(work, 'workers.d.ts'), WORKERS_GLOBALS);
    const failing = new Map<JsdocExample, Map<string, string[]>>();
    for (const file of variants.keys()) {
      const example = variants.get(file) as JsdocExample;
      if (!failing.has(example)) failing.set(example, new Map());
      failing.get(example)?.set(file, []);
    }
    for (const problem of typeCheck([
      ...variants.keys(),
      join(work, 'globals.d.ts'),
      join(work, 'workers.d.ts'),
    ])) {
      const example = problem.file ? variants.get(problem.file) : undefined;
      if (!example || !problem.file) throw new Error(`outside the examples: ${problem.text}`);
      failing.get(example)?.get(problem.file)?.push(problem.text);
    }
    // An example passes when one of its readings compiles.
    const broken = Object.fromEntries(
      [...failing]
        .filter(([, readings]) => [...readings.values()].every((problems) => problems.length > 0))
        .map(([example, readings]) => [
          example.where,
          [...readings.values()].map((p) => p.join('; ')).join(' | '),
        ]),
    );
    const why = JSON.stringify(broken, null, 1);
    expect(Object.keys(broken), `what the compiler says:\n${why}`).toEqual([]);
  }, 180_000);
});
