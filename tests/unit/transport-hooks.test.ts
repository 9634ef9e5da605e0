/** Plugin hooks (ky's own) around the SDK's retry loop: each runs on every attempt, told which one. */
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { ServerError } from '../../src/core/errors.js';

const page = () =>
  new Response(
    JSON.stringify({
      metadata: { status: 'OK' },
      pagination: { currentPage: 0, size: 500, totalPages: 1, totalElements: 0 },
      data: [],
    }),
    { status: 200 },
  );

describe('plugin hooks across retries', () => {
  it('see every attempt with its retryCount, and beforeRetry can change the next request', async () => {
    const calls: string[] = [];
    const sentTags: Array<string | null> = [];
    let n = 0;
    const client = new Imednet({
      apiKey: 'k',
      securityKey: 's',
      backoffFactor: 1,
      fetch: async (input) => {
        sentTags.push(new Request(input).headers.get('x-retry-tag'));
        return n++ === 0 ? new Response('{}', { status: 503 }) : page();
      },
    });
    client.addHooks({
      beforeRequest: [(_request, _options, { retryCount }) => void calls.push(`request ${retryCount}`)],
      afterResponse: [
        (_request, _options, response, { retryCount }) =>
          void calls.push(`response ${response.status} ${retryCount}`),
      ],
      beforeError: [
        (error, { retryCount }) => {
          calls.push(`error ${error.response.status} ${retryCount}`);
          return error;
        },
      ],
      beforeRetry: [
        ({ request, error, retryCount }) => {
          calls.push(`retry ${retryCount} ${error instanceof ServerError ? error.status : '?'}`);
          request.headers.set('x-retry-tag', `retry-${retryCount}`);
        },
      ],
    });
    expect(await client.sites.list('S').toArray()).toEqual([]);
    expect(calls).toEqual([
      'request 0',
      'response 503 0',
      'error 503 0',
      'retry 1 503',
      'request 1',
      'response 200 1',
    ]);
    expect(sentTags).toEqual([null, 'retry-1']);
  });
});
