/**
 * Discovery and the connection description, against the mock API over several studies and with
 * fake clients that put secrets where a careless helper would copy them.
 */
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { AbortError, ConfigurationError, UnauthorizedError } from '../../../src/core/errors.js';
import type { Study } from '../../../src/endpoints/studies.js';
import {
  describeConnection,
  isSecretField,
  type StudiesClient,
  studyKeys,
  studyMetadata,
} from '../../../src/plugins/orchestration/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY } from '../support.js';
import { STUDY_KEYS, useStudiesApi } from './support.js';

const { studies, client } = useStudiesApi();

/** A client whose studies listing yields exactly these objects. */
function fakeClient(items: object[]): StudiesClient {
  return {
    studies: {
      async *list() {
        for (const item of items) yield item as Study;
      },
    },
  };
}

describe('studyKeys', () => {
  it('lists every study the keys can see, in the API order, less exclude', async () => {
    expect(await studyKeys(client())).toEqual([...STUDY_KEYS]);
    expect(await studyKeys(client(), { exclude: ['BRAVO', 'NOT_THERE'] })).toEqual([
      'ALPHA',
      'CHARLIE',
      'DELTA',
    ]);
    expect(await studyKeys(client(), { exclude: new Set(STUDY_KEYS) })).toEqual([]);
  });

  it('lists a study once even when a listing yields it twice', async () => {
    const twice = fakeClient([{ studyKey: 'A' }, { studyKey: 'B' }, { studyKey: 'A' }]);
    expect(await studyKeys(twice)).toEqual(['A', 'B']);
  });

  it('passes on the listing errors: bad keys, an abort', async () => {
    await expect(studyKeys(client({ apiKey: 'wrong' }))).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(studyKeys(client(), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('refuses what is not a client, and an exclude that is not a list', async () => {
    await expect(studyKeys({} as StudiesClient)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(studyKeys(client(), { exclude: 'ALPHA' as never })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(studyKeys(client(), { exclude: [1] as never })).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('studyMetadata', () => {
  it('gives each study as plain JSON with the API fields and ISO timestamps', async () => {
    const metadata = await studyMetadata(client(), { exclude: ['DELTA'] });
    expect(metadata.map((m) => m.studyKey)).toEqual(['ALPHA', 'BRAVO', 'CHARLIE']);
    const alpha = studies.find((s) => s.studyKey === 'ALPHA')!.study;
    expect(metadata[0]).toEqual({
      studyKey: 'ALPHA',
      studyId: alpha.studyId,
      studyName: alpha.studyName,
      sponsorKey: alpha.sponsorKey,
      studyDescription: alpha.studyDescription,
      studyType: alpha.studyType,
      dateCreated: new Date(`${alpha.dateCreated.replace(' ', 'T')}Z`).toISOString(),
      dateModified: new Date(`${alpha.dateModified.replace(' ', 'T')}Z`).toISOString(),
    });
    expect(metadata[0]?.dateCreated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Nothing JSON would change: what goes over a queue comes back equal.
    expect(JSON.parse(JSON.stringify(metadata))).toEqual(metadata);
    const json = JSON.stringify(metadata);
    expect(json).not.toContain(API_KEY);
    expect(json).not.toContain(SECURITY_KEY);
  });

  it('masks secret-looking fields at any depth and keeps only what JSON can carry', async () => {
    class Connection {
      apiKey = 'sk_live_CLASSINSTANCE';
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const metadata = await studyMetadata(
      fakeClient([
        {
          studyKey: 'S1',
          sponsorKey: 'ACME',
          apiKey: 'sk_live_TOPLEVELAPIKEY',
          security_key: 'sk_live_SNAKECASEKEY',
          'x-imn-security-key': 'sk_live_HEADERKEY',
          settings: { accessToken: 'sk_live_NESTEDTOKEN', password: 'hunter2-PASSWORD', region: 'eu' },
          integrations: [{ clientSecret: 'sk_live_INARRAY', kind: 'sftp' }],
          connection: new Connection(),
          onChange: () => 'sk_live_FUNCTION',
          lockedAt: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
          startDate: '2024-05-01',
          dateModified: '2025-06-05 21:12:08',
          comment: '2025-06-05 21:12:08',
          big: 12n,
          missing: undefined,
          nothing: null,
          cyclic,
        },
      ]),
    );
    const json = JSON.stringify(metadata);
    for (const secret of [
      'TOPLEVELAPIKEY',
      'SNAKECASEKEY',
      'HEADERKEY',
      'NESTEDTOKEN',
      'PASSWORD',
      'INARRAY',
      'CLASSINSTANCE',
      'FUNCTION',
    ]) {
      expect(json).not.toContain(secret);
    }
    expect(metadata[0]).toEqual({
      studyKey: 'S1',
      sponsorKey: 'ACME',
      apiKey: '[REDACTED]',
      security_key: '[REDACTED]',
      'x-imn-security-key': '[REDACTED]',
      settings: { accessToken: '[REDACTED]', password: '[REDACTED]', region: 'eu' },
      integrations: [{ clientSecret: '[REDACTED]', kind: 'sftp' }],
      lockedAt: '2025-01-02T03:04:05.000Z',
      startDate: '2024-05-01',
      dateModified: '2025-06-05T21:12:08.000Z',
      comment: '2025-06-05 21:12:08',
      big: '12',
      nothing: null,
      cyclic: { name: 'loop' },
    });
  });

  it('tells secret field names from the names of things', () => {
    for (const name of [
      'apiKey',
      'x-api-key',
      'securityKey',
      'SECRET',
      'clientSecret',
      'token',
      'refresh_token',
      'password',
      'passwd',
      'credentials',
      'Authorization',
      'cookie',
      'privateKey',
    ]) {
      expect(isSecretField(name), name).toBe(true);
    }
    for (const name of [
      'studyKey',
      'sponsorKey',
      'siteKey',
      'subjectKey',
      'formKey',
      'studyName',
      'keyword',
      'authorName',
    ]) {
      expect(isSecretField(name), name).toBe(false);
    }
  });
});

describe('describeConnection', () => {
  const apiKey = 'imn_live_7f3c9a1bQZXW';
  const securityKey = 'sec_live_0d4e8b2cKJHG';

  it('describes a client by its host; the keys are "set", never shown in any part', () => {
    const live = new Imednet({ apiKey, securityKey, baseUrl: BASE_URL });
    const about = describeConnection(live);
    expect(about).toEqual({
      origin: BASE_URL,
      host: 'edc.test.example',
      production: false,
      apiKey: 'set',
      securityKey: 'set',
      problems: [],
      summary: 'edc.test.example; API key set; security key set',
    });
    const json = JSON.stringify(about);
    for (const secret of [apiKey, securityKey, apiKey.slice(-4), securityKey.slice(-4)]) {
      expect(json).not.toContain(secret);
    }
  });

  it('describes settings as read from the environment, with what is missing', () => {
    expect(describeConnection({ apiKey, securityKey: undefined })).toEqual({
      origin: 'https://edc.prod.imednetapi.com',
      host: 'edc.prod.imednetapi.com',
      production: true,
      apiKey: 'set',
      securityKey: 'missing',
      problems: ['securityKey is missing'],
      summary: 'edc.prod.imednetapi.com (production); API key set; security key missing',
    });
    expect(describeConnection({ apiKey: '  ', securityKey }).apiKey).toBe('missing');
    // Other settings (a fetch, a logger) are not described.
    const withExtras = describeConnection({ apiKey, securityKey, fetch: globalThis.fetch } as never);
    expect(Object.keys(withExtras)).toEqual([
      'origin',
      'host',
      'production',
      'apiKey',
      'securityKey',
      'problems',
      'summary',
    ]);
  });

  it('shows the origin only: never credentials, a path or a query of the base URL', () => {
    const withUser = describeConnection({
      apiKey,
      securityKey,
      baseUrl: 'https://admin:hunter2@edc.example.com',
    });
    expect(withUser.origin).toBeNull();
    expect(withUser.problems).toEqual(['baseUrl must not contain credentials']);
    expect(JSON.stringify(withUser)).not.toMatch(/hunter2|admin/);
    const proxied = describeConnection({
      apiKey,
      securityKey,
      baseUrl: 'https://proxy.example.com/t/tok_9XYZSECRET/api/v1/edc?key=tok_QUERYSECRET',
    });
    expect(proxied.origin).toBe('https://proxy.example.com');
    expect(JSON.stringify(proxied)).not.toMatch(/SECRET/);
    expect(describeConnection({ apiKey, securityKey, baseUrl: 'not a url' })).toMatchObject({
      origin: null,
      host: null,
      problems: ['baseUrl is not a valid absolute URL'],
      summary: 'invalid base URL; API key set; security key set; baseUrl is not a valid absolute URL',
    });
  });
});
