/** The export errors: bad settings (nothing written) and a batch that could not be written. */
import { ImednetError } from '../../core/errors.js';

/**
 * A sink's settings are wrong (a missing option, an unwritable path, a destination holding an
 * export of another shape): raised before any row is written. The message never carries a
 * connection string, a password or a key.
 */
export class ExportConfigurationError extends ImednetError {
  static override readonly kind: string = 'ExportConfigurationError';
}

/** A batch could not be written, after the retries; `batchId` says which (`<table>:<n>`). */
export class ExportBatchError extends ImednetError {
  static override readonly kind: string = 'ExportBatchError';
  /** The batch that failed. */
  readonly batchId: string;
  /** Attempts made at writing it. */
  readonly writeAttempts: number;
  constructor(batchId: string, writeAttempts: number, cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`Batch ${batchId} could not be written after ${writeAttempts} attempt(s): ${why}`, { cause });
    this.batchId = batchId;
    this.writeAttempts = writeAttempts;
  }
}
