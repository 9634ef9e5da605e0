import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { normalizeBaseUrl } from '../../src/core/config.js';
import { ConfigurationError, isConfigurationError } from '../../src/core/errors.js';

describe('client configuration', () => {
  it('names the missing key without printing any value', () => {
    expect(() => new Imednet({ apiKey: '', securityKey: 's3cret-value' })).toThrow(/Missing apiKey/);
    expect(() => new Imednet({ apiKey: 'k3y-value', securityKey: undefined as never })).toThrow(
      /Missing securityKey/,
    );
    expect(() => new Imednet({} as never)).toThrow(/Missing apiKey and securityKey/);
    try {
      new Imednet({ apiKey: 'k3y-value', securityKey: ' ' });
    } catch (error) {
      expect(isConfigurationError(error)).toBe(true);
      expect(JSON.stringify(error)).not.toContain('k3y-value');
    }
  });

  it('strips a trailing slash, /api and /api/v1/edc from the base URL', () => {
    expect(normalizeBaseUrl('https://edc.example.com/')).toBe('https://edc.example.com');
    expect(normalizeBaseUrl('https://edc.example.com/api')).toBe('https://edc.example.com');
    expect(normalizeBaseUrl('https://edc.example.com/api/')).toBe('https://edc.example.com');
    expect(normalizeBaseUrl('https://edc.example.com/api/v1/edc/')).toBe('https://edc.example.com');
    expect(normalizeBaseUrl('http://127.0.0.1:8080/proxy/api')).toBe('http://127.0.0.1:8080/proxy');
  });

  it('defaults to the production host', () => {
    const client = new Imednet({ apiKey: 'a', securityKey: 'b' });
    expect(client.baseUrl).toBe('https://edc.prod.imednetapi.com');
  });

  it('rejects invalid base URLs and option values', () => {
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', baseUrl: 'not a url' })).toThrow(
      ConfigurationError,
    );
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', baseUrl: 'ftp://x' })).toThrow(/http or https/);
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', baseUrl: 'https://u:p@x.com' })).toThrow(
      /credentials/,
    );
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', pageSize: 501 })).toThrow(/1 to 500/);
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', retries: -1 })).toThrow(/retries/);
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new Imednet({ apiKey: 'a', securityKey: 'b', timeout: 0 })).toThrow(/timeout/);
  });

  it('lets listings grow to twice their concurrency by default, at most 16, never below it', () => {
    const max = (options: object) =>
      new Imednet({ apiKey: 'a', securityKey: 'b', ...options }).context.maxConcurrency;
    expect(max({})).toBe(16);
    expect(max({ concurrency: 1 })).toBe(2);
    expect(max({ concurrency: 4 })).toBe(8);
    expect(max({ concurrency: 12 })).toBe(16);
    expect(max({ concurrency: 24 })).toBe(24);
    expect(max({ concurrency: 4, maxConcurrency: 32 })).toBe(32);
    expect(() => max({ concurrency: 8, maxConcurrency: 4 })).toThrow(
      /maxConcurrency \(at least concurrency\)/,
    );
    const client = new Imednet({ apiKey: 'a', securityKey: 'b' });
    expect(() => client.sites.list('S', { concurrency: 8, maxConcurrency: 2 })).toThrow(ConfigurationError);
  });

  it('keeps credentials out of JSON.stringify and util.inspect of the client', async () => {
    const { inspect } = await import('node:util');
    const client = new Imednet({ apiKey: 'key-AAAA-1111', securityKey: 'sec-BBBB-2222' });
    for (const text of [JSON.stringify(client), inspect(client, { depth: 10, showHidden: true })]) {
      expect(text).not.toContain('key-AAAA-1111');
      expect(text).not.toContain('sec-BBBB-2222');
    }
  });

  it.each(['.', '..'])('refuses %j as a path segment before any request', async (segment) => {
    const sent: string[] = [];
    const client = new Imednet({
      apiKey: 'k',
      securityKey: 's',
      fetch: async (input) => {
        sent.push(new Request(input).url);
        return new Response('{}');
      },
    });
    const listing = await Promise.resolve()
      .then(() => client.sites.list(segment).toArray())
      .catch((e) => e);
    expect(listing).toBeInstanceOf(ConfigurationError);
    expect(listing.message).toMatch(/studyKey must not be "\." or "\.\."/);
    const job = await client.jobs.get('S', segment).catch((e) => e);
    expect(job).toBeInstanceOf(ConfigurationError);
    expect(job.message).toMatch(/batchId/);
    expect(sent).toEqual([]);
  });
});
