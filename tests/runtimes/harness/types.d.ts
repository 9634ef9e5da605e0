// The contract between the runtime fixtures and the suites, for editors and JSDoc in the .mjs files.

/** The minimal assertion API a fixture hands to the suites. */
export interface Expectation {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeTruthy(): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThan(n: number): void;
  toBeInstanceOf(Class: abstract new (...args: any[]) => unknown): void;
  toContain(item: unknown): void;
  /** Awaits the promise (or calls the function) and resolves to what it rejected with. */
  rejects(): Promise<any>;
}

/** Where the mock API behind this fixture lives, and the keys it accepts. */
export interface CaseEnv {
  baseUrl: string;
  apiKey: string;
  securityKey: string;
  studyKey: string;
  controlUrl: string;
}

/** Drives the mock API from inside a case. */
export interface Control {
  setFaults(faults: Record<string, unknown>): Promise<unknown>;
  mark(): Promise<number>;
  requestsSince(mark: number): Promise<{ method: string; path: string; search: string; status?: number }[]>;
  mutate(changes: { update?: number; softDelete?: number; hardDelete?: number; add?: number }): Promise<{
    updated: number[];
    softDeleted: number[];
    hardDeleted: number[];
    added: number[];
  }>;
}

/** What a suite's `define` receives. */
export interface SuiteContext {
  it(name: string, fn: () => unknown): void;
  expect(actual: unknown): Expectation;
  /** The package's root entry, as this fixture loaded it (ESM, CJS, a bundle, a CDN URL). */
  sdk: Record<string, any>;
  /** Loads one of the specifiers the suite declared in the registry's `imports`. */
  load(specifier: string): Promise<Record<string, any>>;
  env: CaseEnv;
  control: Control;
  /** The matrix runtime this fixture is (`node-esm`, `deno`, `workerd`, ...). */
  runtime: string;
  /** What only this runtime can hand over: a Worker's bindings (`d1`), and so on. */
  platform: Record<string, unknown>;
}

/** A suite module's default export. */
export interface Suite {
  name: string;
  define(t: SuiteContext): void | Promise<void>;
}
