// The Node versions the Node fixtures run on: this machine's Node, the lowest version the package's
// `engines` admits, and the latest 22 and 24. The extra ones come from the npm registry as the
// node-<platform>-<arch> packages, installed into .cache/ (never as devDependencies: their `node`
// bin would shadow the machine's Node in npm scripts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CACHE_DIR, ROOT } from './paths.js';
import { runOk } from './proc.js';

/** A Node binary to run fixtures with. */
export interface NodeBinary {
  /** Row label suffix: '' for the machine's Node, else e.g. '@22'. */
  label: string;
  path: string;
  /** Why this version is in the matrix. */
  role: string;
}

/** The lowest version an `engines.node` range of the form `>=X[.Y[.Z]]` admits. */
export function engineFloor(range: string): string | undefined {
  const match = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
  return match ? `${match[1]}.${match[2] ?? 0}.${match[3] ?? 0}` : undefined;
}

/** Where Node `spec` lives once installed: its npm prefix in .cache/ and its binary. */
function nodeLocation(spec: string): { name: string; prefix: string; binary: string } {
  const name = `node-${process.platform}-${process.arch}`;
  const prefix = `${CACHE_DIR}/node-${spec}`;
  return { name, prefix, binary: `${prefix}/node_modules/${name}/bin/node` };
}

/**
 * The path of Node `spec` when it is already installed in .cache/ (tests look it up and never
 * download); an Error naming the setup step that installs it otherwise.
 */
export function installedNodeBinary(spec: string): string {
  const { binary } = nodeLocation(spec);
  if (!existsSync(binary)) {
    throw new Error(
      `Node ${spec} is not installed at ${binary}: run "npx tsx scripts/setup-node-versions.ts" ` +
        '(the setup step of scripts/test.sh, which installs Node 22, 24 and the engines floor) first',
    );
  }
  return binary;
}

/** The path of Node `spec` (e.g. '22', '20.19.0'), installed into .cache/ on first use. */
export async function nodeBinary(spec: string): Promise<string> {
  const { name, prefix, binary } = nodeLocation(spec);
  if (!existsSync(binary)) {
    await runOk(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `${name}@${spec}`],
      {
        timeoutMs: 300_000,
      },
    );
  }
  return binary;
}

/** The machine's Node plus the engines floor, 22 and 24 (installed on first use). */
export async function nodeBinaries(): Promise<NodeBinary[]> {
  const pkg = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')) as { engines?: { node?: string } };
  const floor = engineFloor(pkg.engines?.node ?? '');
  if (!floor)
    throw new Error(`cannot read a floor from engines.node "${pkg.engines?.node}" (expected ">=X.Y.Z")`);
  const wanted: { spec: string; role: string }[] = [
    { spec: floor, role: 'engines floor' },
    { spec: '22', role: 'latest 22' },
    { spec: '24', role: 'latest 24' },
  ];
  const extra = await Promise.all(
    wanted.map(async ({ spec, role }) => ({ label: `@${spec}`, path: await nodeBinary(spec), role })),
  );
  return [{ label: '', path: process.execPath, role: 'this machine' }, ...extra];
}
