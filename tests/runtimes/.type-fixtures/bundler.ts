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
export const item = registerSubject({ formKey: 'REG', siteName: 'A', data: { x: '1' } });
export const study: FakeStudy = createFakeStudy({ subjects: 2 });
