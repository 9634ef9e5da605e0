// Checks of the packed tarball as users receive it: publint and arethetypeswrong clean, every
// `exports` entry importable and requirable in Node, and the types compiling for consumers under
// moduleResolution node16, nodenext and bundler.
import { bin, ROOT } from './paths.js';
import { run, tail } from './proc.js';

/** One check's outcome. */
export interface CheckOutcome {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** Runs one named check: its detail line when `body` resolves, its error message when it throws. */
export async function check(name: string, body: () => Promise<string>): Promise<CheckOutcome> {
  const started = Date.now();
  try {
    return { name, ok: true, detail: await body(), ms: Date.now() - started };
  } catch (error) {
    return {
      name,
      ok: false,
      detail: error instanceof Error ? error.message : String(error),
      ms: Date.now() - started,
    };
  }
}

/** publint on the tarball, warnings counted as errors; suggestions fail too, since "clean" means clean. */
export function publint(tarball: string): Promise<CheckOutcome> {
  return check('publint', async () => {
    const result = await run(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], {
      timeoutMs: 60_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    const out = `${result.stdout}\n${result.stderr}`.trim();
    if (result.code !== 0 || /suggestion|warning|error/i.test(out.replace(/All good!/i, ''))) {
      throw new Error(tail(out));
    }
    return 'all good';
  });
}

/** @arethetypeswrong/cli on the tarball with its strict profile. */
export function attw(tarball: string): Promise<CheckOutcome> {
  return check('attw', async () => {
    const result = await run(
      bin('attw'),
      [tarball, '--profile', 'node16', '--format', 'ascii', '--no-emoji', '--no-color'],
      {
        timeoutMs: 120_000,
      },
    );
    if (result.code !== 0) throw new Error(tail(`${result.stdout}\n${result.stderr}`, 60));
    return 'no problems';
  });
}

/** Imports and requires every exports entry in Node, from the node-esm fixture. */
export function nodeExports(
  fixtureDir: string,
  node = process.execPath,
  label = 'node',
): Promise<CheckOutcome> {
  return check(`exports import+require (${label})`, async () => {
    const result = await run(node, ['exports.mjs'], { cwd: fixtureDir, timeoutMs: 60_000 });
    const line = result.stdout.trim().split('\n').pop() ?? '';
    let parsed: { node: string; entries: { specifier: string }[]; problems: string[] };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      throw new Error(`exports check did not report\n${tail(result.stdout)}\n${tail(result.stderr)}`);
    }
    if (parsed.problems.length > 0) throw new Error(parsed.problems.join('\n'));
    return `${parsed.entries.map((e) => e.specifier).join(', ')} on node ${parsed.node}`;
  });
}

/** Compiles the type fixtures against the installed tarball under each moduleResolution. */
export function typeFixtures(dir: string): Promise<CheckOutcome[]> {
  return Promise.all(
    ['node16', 'nodenext', 'bundler'].map((mode) =>
      check(`types (${mode})`, async () => {
        const result = await run(
          process.execPath,
          [
            `${ROOT}/node_modules/typescript/bin/tsc`,
            '-p',
            `tsconfig.${mode}.json`,
            // @types/node comes from the repository; everything else from the fixture's own install.
            '--typeRoots',
            `${ROOT}/node_modules/@types`,
          ],
          {
            cwd: dir,
            timeoutMs: 120_000,
          },
        );
        if (result.code !== 0) throw new Error(tail(`${result.stdout}\n${result.stderr}`, 40));
        return 'compiles';
      }),
    ),
  );
}
