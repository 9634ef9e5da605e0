// CommonJS consumer under node16 / nodenext: the `require` types of every entry.
import sdk = require('imednet');
import testing = require('imednet/testing');

import type { Site } from 'imednet';

const client = new sdk.Imednet({ apiKey: 'a', securityKey: 'b' });
export const listing: Promise<Site[]> = client.sites.list('S').toArray();
export const isMissing = (error: unknown): boolean => sdk.isNotFoundError(error);
export const study = testing.createFakeStudy({ subjects: 3 });
