/**
 * The page script of tests/unit/duckdb/browser.test.ts, bundled with esbuild and run in Chromium:
 * it opens a study database on the DuckDB-WASM files the test serves, loads a fake study's row
 * batches and profiles them. `profileFake` is also what the test runs in Node, so both sides load
 * exactly the same batches and answer the same plain JSON (dates as ISO text).
 */
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  type DuckdbBundles,
  openStudyDatabase,
  profileStudy,
  quoteIdentifier,
  type StudyDatabase,
} from '../../../src/plugins/duckdb/index.js';
import { mapRecords, planTables } from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';

// Every variable type, a few deleted records, four sites and the study's intervals.
const study = createFakeStudy({ studyKey: 'WASM', records: 1500, subjects: 45, sites: 4, seed: 13 });
const structure = structureOf(study);
const tables = planTables(structure);

/** The study's row batches, 100 rows at most each: the same in Node and in the page. */
const batches = () => mapRecords(sdkRecords([...study.records]), structure, { batchSize: 100 });

/** Records per form and site (live and deleted) and the first record's creation, in one SQL statement. */
const perSiteSql = () =>
  `${tables
    .map(
      (t) =>
        `SELECT ${`'${t.name.replaceAll("'", "''")}'`} AS form, "siteName", count(*) FILTER (WHERE NOT deleted) AS records, ` +
        `count(*) FILTER (WHERE deleted) AS deleted, min("dateCreated") AS "firstCreated" FROM ${quoteIdentifier(t.name)} GROUP BY ALL`,
    )
    .join(' UNION ALL ')} ORDER BY form, "siteName"`;

/** A value as JSON carries it across page.evaluate: dates as ISO text, the rest as it is. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** What one database made of the fake study. */
export interface ProfileRun {
  /** `SELECT version()`, and the build DuckDB says it runs on (`wasm_eh`, `wasm_mvp`). */
  version: string;
  platform: string;
  loaded: { rows: number; tables: { name: string; rows: number }[] };
  /** The StudyProfile without its timing, dates as ISO text. */
  profile: unknown;
  perSite: unknown;
}

/** Loads the fake study into `db` through loadRows, profiles it and asks the per-site question. */
export async function profileFake(db: StudyDatabase): Promise<ProfileRun> {
  const loaded = await db.loadRows(batches(), { tables });
  const { ms: _ms, ...profile } = await profileStudy(db);
  const [about] = await db.query<{ version: string; platform: string }>(
    'SELECT version() AS version, (SELECT platform FROM pragma_platform()) AS platform',
  );
  return {
    version: about?.version ?? '',
    platform: about?.platform ?? '',
    loaded: { rows: loaded.rows, tables: loaded.tables },
    profile: plain(profile),
    perSite: plain(await db.query(perSiteSql())),
  };
}

const page = {
  /** Opens a database on the given bundles, profiles the fake study, and closes it. */
  async profile(bundles: DuckdbBundles): Promise<ProfileRun> {
    const db = openStudyDatabase({ bundles, startTimeout: 240_000 });
    try {
      return await profileFake(db);
    } finally {
      await db.close();
    }
  },
  /** What a page that forgot the bundles option gets: its error's class, name and message. */
  async withoutBundles() {
    const db = openStudyDatabase();
    try {
      await db.query('SELECT 1');
      return { error: 'none' };
    } catch (error) {
      return {
        configuration: error instanceof ConfigurationError,
        name: (error as Error).name,
        message: (error as Error).message,
      };
    } finally {
      await db.close();
    }
  },
};

Object.assign(globalThis, { page });
