import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import initSqlJs from 'sql.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { storageConformanceCases } from '../../../src/storage/conformance.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import type { SqlExecutor } from '../../../src/storage/sqlite/executor.js';
import { sqliteStorage, syncExecutor } from '../../../src/storage/sqlite/index.js';
import { sqlJsStorage } from '../../../src/storage/sqlite/sql-js.js';

const dir = mkdtempSync(join(tmpdir(), 'imednet-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `store-${++files}.db`);

/** better-sqlite3 seen through a D1-like executor: no transaction(), only batch(). */
function batchOnly(db: Database.Database): SqlExecutor {
  const { transaction: _, ...rest } = syncExecutor(db, { name: 'batch-only', owned: true });
  return {
    ...rest,
    async batch(statements) {
      db.transaction(() => {
        for (const s of statements) db.prepare(s.sql).run(...s.params);
      })();
    },
  };
}

const sqlJs = initSqlJs();

describe.each([
  ['better-sqlite3 (:memory:)', async () => betterSqliteStorage({ filename: ':memory:' })],
  ['better-sqlite3 (file, WAL)', async () => betterSqliteStorage({ filename: freshFile() })],
  [
    'sqliteStorage over a batch-only executor (the D1 path)',
    async () => sqliteStorage(batchOnly(new Database(':memory:'))),
  ],
  ['sql.js', async () => sqlJsStorage({ SQL: await sqlJs })],
  ['sql.js (imported lazily)', async () => sqlJsStorage()],
])('%s conformance', (_name, make) => {
  for (const c of storageConformanceCases(make)) it(c.name, c.run);
});

describe('sqliteStorage', () => {
  it('opens files in WAL mode with a busy timeout, so a second process can write meanwhile', async () => {
    const file = freshFile();
    const storage = betterSqliteStorage({ filename: file, busyTimeoutMs: 10_000 });
    await storage.putMany('items', [['a', 1]]);
    const check = new Database(file);
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
    // Another process takes the write lock for a while; our write waits for it instead of failing.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
         db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO kv VALUES ('items', 'other', '2')").run();
         console.log('locked');
         setTimeout(() => { db.exec('COMMIT'); db.close(); }, 700);`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const started = Date.now();
    await storage.putMany('items', [['b', 3]]);
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(await storage.getMany('items', ['a', 'b', 'other'])).toEqual([1, 3, 2]);
    await new Promise((resolve) => holder.once('exit', resolve));
    await storage.close();
  });

  it('two connections to one file see one lock', async () => {
    const file = freshFile();
    const one = betterSqliteStorage({ filename: file });
    const two = betterSqliteStorage({ filename: file });
    expect(await one.tryLock!('sync', 'one', 10_000)).toBe(true);
    expect(await two.tryLock!('sync', 'two', 10_000)).toBe(false);
    await one.unlock!('sync', 'one');
    expect(await two.tryLock!('sync', 'two', 10_000)).toBe(true);
    await Promise.all([one.close(), two.close()]);
  });

  it('keeps several stores apart in one database with tablePrefix, and leaves an injected handle open', async () => {
    const db = new Database(':memory:');
    const a = betterSqliteStorage({ database: db, tablePrefix: 'a_' });
    const b = betterSqliteStorage({ database: db, tablePrefix: 'b_' });
    await a.putMany('items', [['k', 'in a']]);
    await b.putMany('items', [['k', 'in b']]);
    expect([await a.get('items', 'k'), await b.get('items', 'k')]).toEqual(['in a', 'in b']);
    await a.close();
    await b.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) AS n FROM a_kv').get()).toEqual({ n: 1 });
    db.close();
  });

  it('rejects a tablePrefix that is not a plain identifier', () => {
    expect(() => betterSqliteStorage({ filename: ':memory:', tablePrefix: 'x"; DROP' })).toThrow(
      ConfigurationError,
    );
  });

  it('refuses keys with unpaired surrogates instead of storing U+FFFD', async () => {
    const storage = betterSqliteStorage({ filename: ':memory:' });
    await expect(storage.putMany('items', [['bad\uD800', 1]])).rejects.toThrow(/unpaired surrogate/);
    await storage.close();
  });

  it('an executor with neither transaction() nor batch() refuses multi-statement writes, atomically', async () => {
    const { transaction: _, ...plain } = syncExecutor(new Database(':memory:'), {
      name: 'plain',
      owned: true,
    });
    const storage = sqliteStorage(plain);
    await storage.putMany('items', [['a', 1]]); // one statement: fine
    await expect(
      storage.write([
        { type: 'put', collection: 'items', key: 'b', value: 2 },
        { type: 'clear', collection: 'other' },
      ]),
    ).rejects.toThrow(/neither transaction\(\) nor batch\(\)/);
    expect(await storage.get('items', 'b')).toBeUndefined();
    await storage.close();
  });

  it('rolls back a transaction when a statement fails midway', async () => {
    const db = new Database(':memory:');
    const storage = betterSqliteStorage({ database: db });
    await storage.putMany('items', [['keep', 1]]);
    // Sabotage the second statement's table so the database itself fails after the first applied.
    db.exec(
      'CREATE TRIGGER refuse BEFORE INSERT ON kv WHEN NEW.collection = ' +
        "'forbidden'" +
        ' BEGIN SELECT RAISE(ABORT, ' +
        "'refused'" +
        '); END',
    );
    await expect(
      storage.write([
        { type: 'delete', collection: 'items', key: 'keep' },
        { type: 'put', collection: 'forbidden', key: 'x', value: 1 },
      ]),
    ).rejects.toThrow(/refused/);
    expect(await storage.get('items', 'keep')).toBe(1);
    await storage.close();
    db.close();
  });

  it('refuses an async transaction callback and rolls back what it did', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x)');
    const executor = syncExecutor(db, { name: 'better-sqlite3', owned: true });
    await expect(
      executor.transaction!(async (tx) => {
        tx.run('INSERT INTO t VALUES (1)');
      }),
    ).rejects.toThrow(/needs a synchronous fn/);
    expect(await executor.all('SELECT * FROM t')).toEqual([]);
    await executor.transaction!((tx) => tx.run('INSERT INTO t VALUES (2)'));
    expect(await executor.all('SELECT x FROM t')).toEqual([{ x: 2 }]);
    await executor.close();
  });
});
