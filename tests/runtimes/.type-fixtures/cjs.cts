// CommonJS consumer under node16 / nodenext: the `require` types of every entry.
import sdk = require('imednet');
import testing = require('imednet/testing');

import type { Site } from 'imednet';

const client = new sdk.Imednet({ apiKey: 'a', securityKey: 'b' });
export const listing: Promise<Site[]> = client.sites.list('S').toArray();
export const isMissing = (error: unknown): boolean => sdk.isNotFoundError(error);
export const study = testing.createFakeStudy({ subjects: 3 });

import syncPlugin = require('imednet/plugins/sync');
import storage = require('imednet/storage');

const Synced = sdk.Imednet.plugin(syncPlugin.sync());
export const synced = new Synced({ apiKey: 'a', securityKey: 'b', storage: storage.memoryStorage() });
export const records = synced.cache.getCachedRecords('S');
// @ts-expect-error: storage must be a StorageAdapter
new Synced({ apiKey: 'a', securityKey: 'b', storage: 'memory' });
