// examples/airflow: Airflow cannot be installed here, so the DAG file is compiled by Python and its
// structure read from Python's own syntax tree (the mapped export task, its pool, retries and
// timeout; the sensor in reschedule mode), and the module the DAG calls the command through
// (imednet_cli.py, standard library only) is run by Python against the real `imednet` command and
// the loopback mock: discovery, an export and its rerun, each exit code the DAG branches on, and a
// job's status and wait, completed and failed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { createRecord } from '../../../src/endpoints/records.js';
import {
  createFakeStudy,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../../src/testing/index.js';

const ROOT = join(import.meta.dirname, '../../..');
const DAGS = join(ROOT, 'examples/airflow/dags');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const run = promisify(execFile);

let server: MockServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imednet-airflow-'));
  server = await startMockServer({
    study: [
      createFakeStudy({ studyKey: 'DEMO', records: 1500, subjects: 40, seed: 21 }),
      createFakeStudy({ studyKey: 'OTHER', records: 300, subjects: 10, seed: 22 }),
      createFakeStudy({ studyKey: 'RETIRED', records: 50, subjects: 5, seed: 23 }),
    ],
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs Python code with the DAG folder importable and its output as JSON. */
async function python(code: string, env: Record<string, string> = {}): Promise<unknown> {
  const { stdout } = await run('python3', ['-c', code], {
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: DAGS,
      PYTHONDONTWRITEBYTECODE: '1',
      IMEDNET_CLI: `${process.execPath} --import ${TSX} ${join(ROOT, 'src/cli/index.ts')}`,
      IMEDNET_API_KEY: DEFAULT_API_KEY,
      IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
      IMEDNET_BASE_URL: server.url,
      ...env,
    },
    cwd: dir,
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}

/** Calls one imednet_cli function; answers its result or the error's code and retryable flag. */
const call = (expression: string, env: Record<string, string> = {}) =>
  python(
    `import json, imednet_cli
try:
    print(json.dumps({"value": ${expression}}))
except imednet_cli.ImednetCommandError as e:
    print(json.dumps({"code": e.code, "retryable": e.retryable, "message": str(e)}))`,
    env,
  ) as Promise<{ value?: unknown; code?: number; retryable?: boolean; message?: string }>;

describe('examples/airflow', () => {
  it('the DAG file compiles, and its tasks are mapped, pooled, retried and time-limited as documented', async () => {
    // compile() is Python's own compiler: a syntax error or a bad indentation fails here.
    await run('python3', [
      '-c',
      'import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, "exec")',
      join(DAGS, 'imednet_export.py'),
      join(DAGS, 'imednet_cli.py'),
    ]);
    // The decorators' keyword arguments and the calls, from Python's syntax tree.
    const tree = (await python(`import ast, json
tree = ast.parse(open("${join(DAGS, 'imednet_export.py')}").read())
def value(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return ast.unparse(node)
out = {"decorators": {}, "calls": []}
for node in ast.walk(tree):
    if isinstance(node, ast.FunctionDef):
        for d in node.decorator_list:
            if isinstance(d, ast.Call):
                out["decorators"][node.name] = {"decorator": ast.unparse(d.func), **{k.arg: value(k.value) for k in d.keywords}}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        out["calls"].append(ast.unparse(node))
print(json.dumps(out))`)) as { decorators: Record<string, Record<string, unknown>>; calls: string[] };
    expect(tree.decorators.imednet_export).toMatchObject({
      decorator: 'dag',
      dag_id: 'imednet_export',
      catchup: false,
    });
    expect(tree.decorators.export).toMatchObject({
      decorator: 'task',
      pool: 'imednet_api',
      retries: 4,
      retry_exponential_backoff: true,
      execution_timeout: 'timedelta(hours=3)',
    });
    expect(tree.decorators.job_finished).toMatchObject({ decorator: 'task.sensor', mode: 'reschedule' });
    expect(tree.calls).toContain('export.expand(study_key=discover())');
    expect(tree.calls).toContain("imednet_cli.export_study(study_key, 'parquet', f'{OUT}/{ds}/{study_key}')");
  }, 60_000);

  it('discovery lists the study keys the keys can see, less the excluded ones', async () => {
    expect(await call('imednet_cli.discover_studies(["RETIRED"])')).toEqual({ value: ['DEMO', 'OTHER'] });
  }, 60_000);

  it('an export writes every record; its retry (a rerun) writes nothing again', async () => {
    const out = join(dir, '2026-12-01', 'DEMO');
    const first = await call(`imednet_cli.export_study("DEMO", "parquet", ${JSON.stringify(out)})`);
    expect(first.value).toMatchObject({ event: 'done', study: 'DEMO', rows: 1500, sink: 'parquet' });
    const again = await call(`imednet_cli.export_study("DEMO", "parquet", ${JSON.stringify(out)})`);
    expect(again.value).toMatchObject({ event: 'done', study: 'DEMO', alreadyComplete: true });
  }, 60_000);

  it.each([
    [
      'a study that does not exist',
      'imednet_cli.discover_studies() and imednet_cli.export_study("NOPE", "csv", "out")',
      {},
      4,
      false,
    ],
    ['refused keys', 'imednet_cli.discover_studies()', { IMEDNET_API_KEY: 'wrong-key' }, 3, false],
    ['a missing key', 'imednet_cli.discover_studies()', { IMEDNET_API_KEY: '' }, 2, false],
    [
      'an unreachable host',
      'imednet_cli.discover_studies()',
      { IMEDNET_BASE_URL: 'http://127.0.0.1:9' },
      6,
      true,
    ],
    [
      'an output that cannot be made',
      'imednet_cli.export_study("OTHER", "csv", "/proc/imednet-nope/x")',
      {},
      7,
      false,
    ],
  ])(
    '%s: exit code %i reaches the DAG, retryable only where a retry can help',
    async (_what, expression, env, code, retryable) => {
      const result = await call(expression, env as Record<string, string>);
      expect(result).toMatchObject({ code, retryable });
      expect(result.message).not.toContain(DEFAULT_API_KEY);
      expect(result.message).not.toContain(DEFAULT_SECURITY_KEY);
    },
    60_000,
  );

  it('the job sensor sees a job finish, and the outcome task fails a failed job without retries', async () => {
    const client = new Imednet({
      apiKey: DEFAULT_API_KEY,
      securityKey: DEFAULT_SECURITY_KEY,
      baseUrl: server.url,
    });
    const subjectKey = server.studies.find((s) => s.studyKey === 'OTHER')!.subjects[0]!.subjectKey!;
    const write = () =>
      client.records.create('OTHER', [createRecord({ formKey: 'AE', subjectKey, data: { AETERM: 'x' } })]);

    server.api.setJobOptions({ jobOutcome: 'completed', jobPollsToComplete: 2 });
    const done = await write();
    // Two pokes: 'processing', then 'completed' (the sensor's is_done).
    expect(await call(`imednet_cli.job_state("OTHER", "${done.batchId}")`)).toEqual({ value: 'processing' });
    expect(await call(`imednet_cli.job_state("OTHER", "${done.batchId}")`)).toEqual({ value: 'completed' });
    expect(await call(`imednet_cli.wait_for_job("OTHER", "${done.batchId}", 60000, 10)["state"]`)).toEqual({
      value: 'completed',
    });

    server.api.setJobOptions({ jobOutcome: 'failed', jobPollsToComplete: 1 });
    const failed = await write();
    expect(await call(`imednet_cli.wait_for_job("OTHER", "${failed.batchId}", 60000, 10)`)).toMatchObject({
      code: 9,
      retryable: false,
    });

    server.api.setJobOptions({ jobOutcome: 'completed', jobPollsToComplete: 1000 });
    const slow = await write();
    expect(await call(`imednet_cli.wait_for_job("OTHER", "${slow.batchId}", 300, 50)`)).toMatchObject({
      code: 10,
      retryable: true,
    });
  }, 90_000);
});
