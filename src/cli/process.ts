/**
 * How the `imednet` process meets its surroundings: Ctrl-C and SIGTERM stop it quietly with the
 * shell's exit codes, a reader that closes stdout (`| head -1`) is a successful end, and an error is
 * one line on stderr.
 */
import {
  ConfigurationError,
  ConnectionError,
  ForbiddenError,
  isImednetError,
  JobFailedError,
  JobTimeoutError,
  NotFoundError,
  RateLimitError,
  TimeoutError,
  UnauthorizedError,
} from '../core/errors.js';

/**
 * The exit codes of `imednet`, as documented in its help: what a scheduler can branch on. 130 and
 * 143 are a stop by Ctrl-C or SIGTERM.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** Anything not listed below (a bug, a server error after retries). */
  FAILURE: 1,
  /** Bad command line, settings or input: nothing was done. */
  USAGE: 2,
  /** The keys were refused (401) or lack a permission (403). */
  AUTH: 3,
  /** A study, job or record that does not exist (404). */
  NOT_FOUND: 4,
  /** Still rate limited (429) after the retries. */
  RATE_LIMITED: 5,
  /** The host could not be reached, or did not answer in time. */
  UNREACHABLE: 6,
  /** The output could not be written (permissions, a full disk, a failed batch write). */
  OUTPUT: 7,
  /** Several studies: some were exported, some failed (each is named on stderr). */
  PARTIAL: 8,
  /** `jobs wait`: the job failed or was cancelled. */
  JOB_FAILED: 9,
  /** `jobs wait`: the job did not finish within `--timeout` (it may still finish). */
  JOB_TIMEOUT: 10,
} as const;

/** The file-system error codes that mean the output cannot be written. */
const OUTPUT_CODES = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'ENOTDIR',
  'EISDIR',
  'EEXIST',
]);

/** The network error codes that mean a destination (a database, a store) cannot be reached. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The exit code an error ends the process with. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UnauthorizedError || error instanceof ForbiddenError) return EXIT.AUTH;
  if (error instanceof NotFoundError) return EXIT.NOT_FOUND;
  if (error instanceof RateLimitError) return EXIT.RATE_LIMITED;
  if (error instanceof ConnectionError || error instanceof TimeoutError) return EXIT.UNREACHABLE;
  if (error instanceof JobFailedError) return EXIT.JOB_FAILED;
  if (error instanceof JobTimeoutError) return EXIT.JOB_TIMEOUT;
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && OUTPUT_CODES.has(code)) return EXIT.OUTPUT;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return EXIT.UNREACHABLE;
  }
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'ExportBatchError' || name === 'OutputPathError') return EXIT.OUTPUT;
  if (error instanceof ConfigurationError || name === 'ExportConfigurationError') return EXIT.USAGE;
  // node:util parseArgs: an unknown flag, a missing value.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) return EXIT.USAGE;
  return EXIT.FAILURE;
}

/** The exit code of a process stopped by each signal it handles (128 + the signal's number). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** True for the error of a write to a pipe or stream whose reader has gone. */
export function isClosedOutput(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/** The one line an error becomes: SDK errors carry no credential; anything else is reduced to its message. */
function describe(error: unknown): string {
  if (isImednetError(error)) return `${error.name}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `command` as the process's work: its resolved number is the exit code, a rejection is one
 * `imednet: …` line and exit code 1. The signal it gets aborts on SIGINT, SIGTERM or a closed stdout
 * (a closed stderr is ignored).
 */
export function runAsProcess(command: (signal: AbortSignal) => Promise<number>): void {
  const controller = new AbortController();
  let stoppedBy: StopSignal | 'stdout' | undefined;
  const stop = (reason: NonNullable<typeof stoppedBy>) => {
    stoppedBy ??= reason;
    controller.abort();
  };
  // Once: a second Ctrl-C gets the default action and ends the process at once.
  for (const name of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) process.once(name, () => stop(name));
  let outputError: unknown;
  process.stdout.on('error', (error) => {
    if (!isClosedOutput(error)) outputError ??= error;
    stop('stdout');
  });
  // Progress and messages are not the output: losing their reader must not cut an export short.
  process.stderr.on('error', () => undefined);

  const finish = (code: number, error?: unknown) => {
    if (stoppedBy === 'stdout' && outputError === undefined) {
      process.exit(0);
    } else if (stoppedBy === 'SIGINT' || stoppedBy === 'SIGTERM') {
      // Whatever was mid-flight was aborted on purpose: no error, no stack; exit now rather than
      // wait for timers the aborted work may leave behind.
      if (error !== undefined) process.stderr.write('imednet: stopped\n');
      process.exit(SIGNAL_EXIT_CODES[stoppedBy]);
    } else if (outputError !== undefined || error !== undefined) {
      process.stderr.write(`imednet: ${describe(outputError ?? error)}\n`);
      process.exitCode = outputError !== undefined ? EXIT.OUTPUT : exitCodeOf(error);
    } else {
      process.exitCode = code;
    }
  };
  command(controller.signal).then(
    (code) => finish(code),
    (error: unknown) => finish(1, error),
  );
}
