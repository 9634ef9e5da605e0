// The command-line options of the benchmark scripts: `--name value` and bare `--flag`s.

/** The value after `--name`, or undefined when the option is absent. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** The value after `--name`; throws when it is absent. */
export function requiredOption(name: string): string {
  const value = option(name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** Whether `--name` was given. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** A number >= 0 after `--name`, or `fallback`; throws on anything else. */
export function numberOption(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number >= 0`);
  return value;
}

/** A comma list of numbers >= 0 after `--name` (e.g. `0,50`), or `fallback`; throws on anything else. */
export function numberListOption(name: string, fallback: string): number[] {
  const values = (option(name) ?? fallback).split(',').map(Number);
  if (values.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new Error(`--${name} takes numbers >= 0, e.g. ${fallback}`);
  }
  return values;
}
