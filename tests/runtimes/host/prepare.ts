// Packs the package once and installs the tarball into one scratch copy of each fixture, with the
// shared cases and harness beside it and a generated module listing the suites that runtime runs.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { type RuntimeName, SUITES } from '../suites.js';
import { FIXTURES_DIR, ROOT, SUITE_DIR, WORK_DIR } from './paths.js';
import { runOk } from './proc.js';

/** The packed package. */
export interface Packed {
  /** The tarball every fixture installs (`imednet.tgz` in the scratch folder). */
  tarball: string;
  name: string;
  version: string;
}

/** Runs `npm pack` on the built package. */
export async function pack(): Promise<Packed> {
  await mkdir(WORK_DIR, { recursive: true });
  const { stdout } = await runOk('npm', ['pack', '--json', '--pack-destination', WORK_DIR], {
    cwd: ROOT,
    timeoutMs: 60_000,
  });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    name: string;
    version: string;
  }[];
  if (!info) throw new Error('npm pack printed no result');
  const tarball = `${WORK_DIR}/imednet.tgz`;
  await cp(`${WORK_DIR}/${info.filename}`, tarball);
  await rm(`${WORK_DIR}/${info.filename}`);
  return { tarball, name: info.name, version: info.version };
}

/**
 * Copies a fixture template (a folder under fixtures/, or an absolute path) to `<scratch>/<dir>`
 * with the shared cases and harness beside it, and installs the tarball into it.
 */
export async function installFixture(
  template: string,
  dir: string,
  shared: readonly string[] = ['cases', 'harness'],
): Promise<string> {
  const target = `${WORK_DIR}/${dir}`;
  await rm(target, { recursive: true, force: true });
  await cp(template.startsWith('/') ? template : `${FIXTURES_DIR}/${template}`, target, { recursive: true });
  for (const folder of shared) {
    await cp(`${SUITE_DIR}/${folder}`, `${target}/${folder}`, { recursive: true });
  }
  await npmInstall(target);
  return target;
}

/** `npm install` of a folder whose package.json points at the tarball; quiet and cache-first. */
export async function npmInstall(
  dir: string,
  packages: readonly string[] = [],
  options: { ignoreScripts?: boolean } = {},
): Promise<void> {
  await runOk(
    'npm',
    [
      'install',
      ...(options.ignoreScripts ? ['--ignore-scripts'] : []),
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--no-package-lock',
      '--loglevel=error',
      ...packages,
    ],
    { cwd: dir, timeoutMs: 180_000 },
  );
}

/** How a fixture turns a declared specifier into a module. */
export type LoaderKind =
  | { kind: 'esm' }
  | { kind: 'cjs' }
  | { kind: 'url'; url: (specifier: string) => string };

/**
 * Writes `suites.generated.mjs`: static imports of the suites registered for `runtime`, and a
 * `load(specifier)` with one literal import per declared specifier, so bundlers can follow them.
 */
export async function writeSuites(dir: string, runtime: RuntimeName, loader: LoaderKind): Promise<number> {
  const suites = SUITES.filter((s) => s.runtimes.includes(runtime));
  const specifiers = [...new Set(suites.flatMap((s) => s.imports ?? []))];
  const lines = [
    `// Generated for ${runtime} from tests/runtimes/suites.ts; do not edit.`,
    ...(loader.kind === 'cjs'
      ? ["import { createRequire } from 'node:module';", 'const require = createRequire(import.meta.url);']
      : []),
    ...suites.map((s, i) => `import suite${i} from './cases/${s.file}';`),
    `export const suites = [${suites.map((_, i) => `suite${i}`).join(', ')}];`,
    'const loaders = {',
    ...specifiers.map((spec) => {
      const source = JSON.stringify(spec);
      if (loader.kind === 'cjs') return `  ${source}: async () => require(${source}),`;
      if (loader.kind === 'url') return `  ${source}: () => import(${JSON.stringify(loader.url(spec))}),`;
      return `  ${source}: () => import(${source}),`;
    }),
    '};',
    'export function load(specifier) {',
    '  const loader = loaders[specifier];',
    "  if (!loader) return Promise.reject(new Error(specifier + ' is not declared in tests/runtimes/suites.ts'));",
    '  return loader();',
    '}',
    '',
  ];
  await writeFile(`${dir}/suites.generated.mjs`, lines.join('\n'));
  return suites.length;
}

/** Fills `%NAME%` placeholders of a template file in place (or into `to`). */
export async function fillTemplate(file: string, values: Record<string, string>, to = file): Promise<void> {
  let text = await readFile(file, 'utf8');
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`%${name}%`, value);
  await writeFile(to, text);
}
