/** The errors of `imednet/plugins/duckdb`. */
import { ImednetError } from '../../core/errors.js';

/**
 * DuckDB-WASM could not start, refused a statement or a batch, or the database was already closed.
 * A message about a batch names its table, column and record, never a value (it may be patient
 * data); a message about a query is DuckDB's own, about the SQL you wrote.
 */
export class StudyDatabaseError extends ImednetError {
  static override readonly kind: string = 'StudyDatabaseError';
}
