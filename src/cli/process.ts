/**
 * How the `imednet` process meets its surroundings: Ctrl-C and SIGTERM stop it quietly with the
 * shell's exit codes, a reader that closes stdout (`| head -1`) is a successful end, and an error is
 * one line on stderr.
 */
import { isImednetError } from '../core/errors.js';

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
      process.exitCode = 1;
    } else {
      process.exitCode = code;
    }
  };
  command(controller.signal).then(
    (code) => finish(code),
    (error: unknown) => finish(1, error),
  );
}
