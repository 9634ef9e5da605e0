// A tiny, dependency-free `it`/`expect` that every runtime can evaluate: plain ESM, web globals only.
// Cases run one after another (they share one mock server and its fault settings), each with a
// time limit, and the outcome is a plain report object that the host prints as the matrix.

/** Marks the single line of stdout that carries a fixture's report. */
export const REPORT_MARKER = '##imednet-runtime-report##';

const CASE_TIMEOUT_MS = 20_000;

class ExpectationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ExpectationError';
  }
}

const show = (value) => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

const deepEqual = (a, b) => {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
};

/**
 * `expect(actual)` with the handful of matchers the cases use.
 * @param {unknown} actual
 */
export function expect(actual) {
  const check = (ok, message) => {
    if (!ok) throw new ExpectationError(message);
  };
  return {
    toBe: (expected) =>
      check(Object.is(actual, expected), `expected ${show(actual)} to be ${show(expected)}`),
    toEqual: (expected) =>
      check(deepEqual(actual, expected), `expected ${show(actual)} to equal ${show(expected)}`),
    toBeTruthy: () => check(Boolean(actual), `expected ${show(actual)} to be truthy`),
    toBeGreaterThanOrEqual: (n) => check(actual >= n, `expected ${show(actual)} to be >= ${n}`),
    toBeLessThan: (n) => check(actual < n, `expected ${show(actual)} to be < ${n}`),
    toBeInstanceOf: (Class) =>
      check(actual instanceof Class, `expected ${show(actual)} to be an instance of ${Class.name}`),
    toContain: (item) =>
      check(
        actual != null && typeof actual.includes === 'function' && actual.includes(item),
        `expected ${show(actual)} to contain ${show(item)}`,
      ),
    /** Awaits a promise (or calls a function) and hands back what it rejected with. */
    rejects: async () => {
      try {
        await (typeof actual === 'function' ? actual() : actual);
      } catch (error) {
        return error;
      }
      throw new ExpectationError('expected a rejection, but it resolved');
    },
  };
}

function withTimeout(promise, ms, name) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new ExpectationError(`case "${name}" took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * A runner for one fixture: `it` registers cases, `run` executes them in order and returns the report.
 * @param {{ runtime: string, version: string }} identity
 */
export function createRunner(identity) {
  /** @type {{ name: string, fn: () => unknown }[]} */
  const cases = [];
  /** Unhandled rejections seen while the cases ran, with the case that was running. */
  const stray = [];
  let current = '(before the first case)';
  return {
    /** The matrix runtime this runner reports for. */
    runtime: identity.runtime,
    /**
     * The fixture calls this from its runtime's unhandled-rejection hook. Node would crash on one;
     * other runtimes only log it; either way it is a failure the report names.
     */
    unhandled(reason) {
      const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
      stray.push(`${message} (during "${current}")`);
    },
    /** Registers a case. */
    it(name, fn) {
      cases.push({ name, fn });
    },
    expect,
    /** Runs every registered case in order. */
    async run() {
      const started = Date.now();
      const results = [];
      for (const { name, fn } of cases) {
        current = name;
        const t0 = Date.now();
        try {
          await withTimeout(Promise.resolve().then(fn), CASE_TIMEOUT_MS, name);
          results.push({ name, ok: true, ms: Date.now() - t0 });
        } catch (error) {
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          results.push({ name, ok: false, ms: Date.now() - t0, error: message });
        }
      }
      // Late rejections (say, of a request aborted after its listing ended) surface within a few ticks.
      await new Promise((resolve) => setTimeout(resolve, 200));
      results.push({
        name: 'no unhandled rejections while the cases ran',
        ok: stray.length === 0,
        ms: 0,
        ...(stray.length ? { error: stray.join('; ') } : {}),
      });
      const passed = results.filter((r) => r.ok).length;
      return {
        ...identity,
        passed,
        failed: results.length - passed,
        total: results.length,
        ms: Date.now() - started,
        results,
      };
    },
  };
}
