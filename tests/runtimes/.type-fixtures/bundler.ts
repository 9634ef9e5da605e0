// A bundler-resolved consumer (Vite, esbuild, webpack): module esnext, moduleResolution bundler.
import { Imednet, type Record as ImednetRecord, isTimeoutError, registerSubject } from 'imednet';
import { createFakeStudy, type FakeStudy } from 'imednet/testing';

const client = new Imednet({ apiKey: 'a', securityKey: 'b', baseUrl: 'https://example.org/imednet' });
export async function firstRecord(): Promise<ImednetRecord | undefined> {
  try {
    for await (const record of client.records.list('S', {
      recordDataFilter: { aeterm: { contains: 'x' } },
    })) {
      return record;
    }
  } catch (error) {
    if (isTimeoutError(error)) return undefined;
    throw error;
  }
  return undefined;
}
// Record fields are typed in filters and sorts, `in` included; recordId is always a number.
export const recordIds = (records: ImednetRecord[]): number[] => records.map((r) => r.recordId);
client.records.list('S', { filter: { formKey: { in: ['AE', 'CM'] } }, sort: '-dateModified' });
// @ts-expect-error: formKye is misspelt
client.records.list('S', { filter: { formKye: 'AE' } });
export const item = registerSubject({ formKey: 'REG', siteName: 'A', data: { x: '1' } });
export const study: FakeStudy = createFakeStudy({ subjects: 2 });

import { sync } from 'imednet/plugins/sync';
import { memoryStorage } from 'imednet/storage';

const Synced = Imednet.plugin(sync({ storage: memoryStorage() }));
export const synced = new Synced({ apiKey: 'a', securityKey: 'b', sync: { batchSize: 50 } });
export const progress = synced.cache.syncRecords('S', { onProgress: (event) => void event.type });
// @ts-expect-error: batchSize is a number
new Synced({ apiKey: 'a', securityKey: 'b', sync: { batchSize: '50' } });
