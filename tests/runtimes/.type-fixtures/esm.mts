// ESM consumer under node16 / nodenext: the `import` types of every entry.
import {
  type ApiError,
  createRecord,
  Imednet,
  type ImednetOptions,
  isNotFoundError,
  type Job,
  NotFoundError,
  type Paginator,
  type Site,
  type Subject,
} from 'imednet';
import { createFakeStudy, createMockApi, type MockApi } from 'imednet/testing';

const options: ImednetOptions = { apiKey: 'a', securityKey: 'b', retries: 2, timeout: 5000 };
const client = new Imednet(options);
// @ts-expect-error: both keys are required
new Imednet({ apiKey: 'a' });

const listing: Paginator<Site> = client.sites.list('S', { filter: { siteName: 'x' }, sort: '-dateModified' });
// Filter and sort fields are typed per resource, and always-sent fields are not nullable.
// @ts-expect-error: sites have no formKey
client.sites.list('S', { filter: { formKey: 'AE' } });
// @ts-expect-error: dateModifed is misspelt
client.sites.list('S', { sort: '-dateModifed' });
export const siteId = (site: Site): number => site.siteId;
export async function use(): Promise<number> {
  const sites: Site[] = await listing.toArray();
  for await (const subject of client.subjects.list('S', { pageSize: 10 })) {
    const key: Subject['subjectKey'] = subject.subjectKey;
    void key;
  }
  const accepted = await client.records.create('S', [
    createRecord({ formKey: 'AE', subjectKey: '01', data: { x: 1 } }),
  ]);
  const job: Job = await client.jobs.wait('S', accepted.batchId, { interval: 10 });
  try {
    await client.subjects.get('S', 'x');
  } catch (error) {
    if (error instanceof NotFoundError) {
      const status: number = error.status;
      void status;
    }
    if (isNotFoundError(error)) {
      const api: ApiError = error;
      void api;
    }
  }
  void job;
  return sites.length;
}

const api: MockApi = createMockApi(createFakeStudy({ records: 10 }));
void api;

// The sync plugin: its client options (storage, sync) are typed on the plugged-in class.
import { type SyncCache, sync } from 'imednet/plugins/sync';
import { memoryStorage, type StorageAdapter } from 'imednet/storage';

const Synced = Imednet.plugin(sync());
const storage: StorageAdapter = memoryStorage();
const synced = new Synced({ apiKey: 'a', securityKey: 'b', storage, sync: { batchSize: 100 } });
export const cache: SyncCache = synced.cache;
// @ts-expect-error: storage must be a StorageAdapter
new Synced({ apiKey: 'a', securityKey: 'b', storage: 'memory' });
// @ts-expect-error: the plain client takes no storage
new Imednet({ apiKey: 'a', securityKey: 'b', storage });
