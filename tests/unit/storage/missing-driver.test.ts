import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import { sqlJsStorage } from '../../../src/storage/sqlite/sql-js.js';

// As if the optional peers were not installed.
vi.mock('better-sqlite3', () => {
  throw new Error("Cannot find package 'better-sqlite3'");
});
vi.mock('sql.js', () => {
  throw new Error("Cannot find package 'sql.js'");
});

describe('an adapter whose optional package is missing', () => {
  it('can still be created, and fails at first use naming the package to install', async () => {
    const storage = betterSqliteStorage({ filename: ':memory:' });
    const error = await storage.get('a', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/npm install better-sqlite3/);
    expect((error as Error).message).toMatch(/node-sqlite/);
  });

  it('sql.js names its package, or passing an initialised module', async () => {
    const error = await sqlJsStorage()
      .count('a')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/npm install sql\.js.*\{ SQL \}/);
  });
});
