// What every fixture's entry calls: wire the suites to the fixture's runner, run them, report.

import { createControl } from './control.mjs';
import { REPORT_MARKER } from './mini-test.mjs';

/**
 * Reads the case environment through a getter, since each runtime keeps its env differently
 * (process.env, Deno.env, Worker bindings, a page's query string).
 * @param {(name: string) => string | undefined} get
 */
export function readEnv(get) {
  const need = (name) => {
    const value = get(name);
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    baseUrl: need('IMEDNET_BASE_URL'),
    apiKey: need('IMEDNET_API_KEY'),
    securityKey: need('IMEDNET_SECURITY_KEY'),
    studyKey: need('IMEDNET_STUDY_KEY'),
    controlUrl: need('IMEDNET_CONTROL_URL'),
  };
}

/**
 * Defines every suite on the runner and runs it.
 * @param {{
 *   runner: ReturnType<typeof import('./mini-test.mjs').createRunner>,
 *   suites: { name: string, define: (t: object) => void }[],
 *   sdk: Record<string, any>,
 *   load: (specifier: string) => Promise<Record<string, any>>,
 *   env: ReturnType<typeof readEnv>,
 *   platform?: Record<string, unknown>,
 * }} options
 */
export async function runSuites({ runner, suites, sdk, load, env, platform = {} }) {
  const control = createControl(env.controlUrl);
  for (const suite of suites) {
    // A suite may load the subpaths it declared before it names its cases.
    await suite.define({
      it: (name, fn) => runner.it(`${suite.name}: ${name}`, fn),
      expect: runner.expect,
      sdk,
      load,
      env,
      control,
      runtime: runner.runtime,
      platform,
    });
  }
  return runner.run();
}

/** The one line a host looks for on a fixture's stdout. */
export const formatReport = (report) => `${REPORT_MARKER} ${JSON.stringify(report)}`;
