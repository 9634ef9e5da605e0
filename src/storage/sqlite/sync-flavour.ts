import type { StorageAdapter } from '../types.js';
import { sqliteStorage } from './adapter.js';
import { type SyncDatabaseLike, syncExecutor } from './sync-driver.js';

/** Options shared by the synchronous flavours: a file to open, or a database you opened (and still own). */
export type SyncSqliteOptions<Open = {}> = (
  | ({
      /** Database file (created if missing); `:memory:` for a private in-memory database. */
      filename: string;
      /** Wait this long for another process's write lock before failing (default 5000 ms). */
      busyTimeoutMs?: number;
    } & Open)
  | {
      /** An open database handle; `close()` leaves it open, and its pragmas are yours. */
      database: SyncDatabaseLike;
    }
) & {
  /** Table-name prefix, see `SqliteStorageOptions.tablePrefix`. */
  tablePrefix?: string;
};

/** What a flavour file supplies: its name and how to open a file with its driver. */
export interface SyncFlavour<Open> {
  /** Driver name, e.g. `better-sqlite3`; the adapter is named `sqlite:<name>`. */
  name: string;
  /** Loads the driver (lazily) and opens `filename`. */
  open(filename: string, options: Open): Promise<SyncDatabaseLike>;
}

/**
 * The StorageAdapter of a synchronous flavour. A file is opened in WAL mode with a busy timeout so
 * several processes can share it (readers never block the writer; writers queue for the timeout).
 */
export function syncSqliteStorage<Open>(
  options: SyncSqliteOptions<Open>,
  flavour: SyncFlavour<Open>,
): StorageAdapter {
  const file = 'filename' in options ? options.filename : undefined;
  const persistent = file === undefined || (file !== ':memory:' && file !== '');
  return sqliteStorage(
    async () => {
      if ('database' in options) return syncExecutor(options.database, { name: flavour.name, owned: false });
      const db = await flavour.open(options.filename, options);
      try {
        db.exec('PRAGMA journal_mode = WAL');
        db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
        // With WAL, NORMAL stays consistent after a crash and only risks the last commits on power loss.
        db.exec('PRAGMA synchronous = NORMAL');
      } catch (error) {
        db.close();
        throw error;
      }
      return syncExecutor(db, { name: flavour.name, owned: true });
    },
    {
      name: `sqlite:${flavour.name}`,
      tablePrefix: options.tablePrefix,
      capabilities: { persistent, shared: persistent, locks: true },
    },
  );
}
