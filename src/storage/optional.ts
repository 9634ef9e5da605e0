import { ConfigurationError } from '../core/errors.js';

/**
 * Loads an optional library at first use. The importer is a closure around a literal `import()` so
 * bundlers still see the specifier, while nothing is loaded (and no global read) when the adapter's
 * module itself is imported.
 */
export async function importOptional<T>(load: () => Promise<T>, remedy: string): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    throw new ConfigurationError(remedy, { cause });
  }
}

/** The default export of a module loaded with `import()`, whether it is ESM or CommonJS. */
export function defaultExport<T>(module: unknown): T {
  const record = module as { default?: unknown };
  return (record.default ?? module) as T;
}
