/**
 * The transport against a real loopback HTTP server that sends headers and then stalls, resets or
 * floods: every body read ends within the timeout, abandoned attempts close their connection, and
 * an abort during a retry wait settles cleanly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import type { ImednetOptions } from '../../src/core/config.js';
import {
  AbortError,
  BadRequestError,
  ConnectionError,
  ResponseValidationError,
  TimeoutError,
} from '../../src/core/errors.js';

interface Seen {
  /** When the request arrived (ms since the server started). */
  at: number;
  /** When its socket closed, if it has. */
  closedAt?: number;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of servers.splice(0)) await close();
});

/** A loopback server that records every request and when its socket closed. */
async function serve(handler: Handler) {
  const started = Date.now();
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const entry: Seen = { at: Date.now() - started, socket: req.socket };
    if (req.socket.destroyed) entry.closedAt = entry.at;
    req.socket.once('close', () => {
      entry.closedAt ??= Date.now() - started;
    });
    seen.push(entry);
    handler(req, res, seen.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, seen, elapsed: () => Date.now() - started };
}

const client = (baseUrl: string, options: Partial<ImednetOptions> = {}) =>
  new Imednet({
    apiKey: 'test-api-key',
    securityKey: 'test-security-key',
    baseUrl,
    backoffFactor: 1,
    ...options,
  });

/** Headers and the start of a JSON body, then nothing more. */
const stall = (status: number, headers: Record<string, string> = {}): Handler => {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.write('{"metadata":{"status":"ERROR","error":{"code":"X","message":"part');
  };
};

/** Settles `promise` and reports how long it took. */
async function settle<T>(promise: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

const page = (data: unknown[]) =>
  JSON.stringify({
    metadata: { status: 'OK' },
    pagination: { currentPage: 0, size: 500, totalPages: 1, totalElements: data.length },
    data,
  });

describe('bounded body reads', () => {
  it('a 400 whose body stalls ends within the timeout, as the 400 it is, after one request', async () => {
    const server = await serve(stall(400));
    const { error, ms } = await settle(client(server.url, { timeout: 300 }).sites.list('S').toArray());
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).status).toBe(400);
    expect((error as Error).message).toMatch(/did not arrive within 300 ms/);
    expect(ms).toBeLessThan(2000);
    expect(server.seen).toHaveLength(1);
  });

  it('a 200 whose body stalls is a TimeoutError, and each abandoned attempt closes its connection at once', async () => {
    const server = await serve(stall(200));
    const { error, ms } = await settle(
      client(server.url, { timeout: 300, retries: 2 }).sites.list('S').toArray(),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).attempts).toBe(3);
    expect(ms).toBeLessThan(5000);
    expect(server.seen).toHaveLength(3);
    // Each earlier attempt's socket was closed when the next attempt was sent (the server may see
    // the close a moment after the new request), not when the whole call ended 300 ms later.
    for (let i = 0; i < server.seen.length - 1; i++) {
      expect(server.seen[i]!.closedAt).toBeDefined();
      expect(server.seen[i]!.closedAt!).toBeLessThanOrEqual(server.seen[i + 1]!.at + 100);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.seen[2]!.closedAt).toBeDefined();
  });

  it('a body larger than maxResponseBytes is refused with a clear error, and its connection closed', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"data":["${'x'.repeat(4096)}`);
      // ...and more would follow; the client must stop reading at the cap.
    });
    const { error, ms } = await settle(
      client(server.url, { maxResponseBytes: 1024 }).sites.list('S').toArray(),
    );
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as Error).message).toMatch(/larger than 1024 bytes/);
    expect(ms).toBeLessThan(2000);
    expect(server.seen).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.seen[0]!.closedAt).toBeDefined();
  });

  it('a body read in full within the timeout is parsed', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(page([{ siteId: 1 }]).slice(0, 20));
      setTimeout(() => res.end(page([{ siteId: 1 }]).slice(20)), 50);
    });
    expect(await client(server.url, { timeout: 1000, validate: false }).sites.list('S').toArray()).toEqual([
      { siteId: 1 },
    ]);
  });
});

describe('abort during a retry wait', () => {
  it('ends in AbortError, with no unhandled rejection, and the 429 body cancelled at once', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const server = await serve(stall(429, { 'retry-after': '30' }));
      const controller = new AbortController();
      const listing = client(server.url, { timeout: 5000 }).sites.list('S', { signal: controller.signal });
      const running = settle(listing.toArray());
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The 429's connection was closed while the client waits out Retry-After.
      expect(server.seen).toHaveLength(1);
      expect(server.seen[0]!.closedAt).toBeDefined();
      controller.abort();
      const { error, ms } = await running;
      expect(error).toBeInstanceOf(AbortError);
      expect(ms).toBeLessThan(1500);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('abort while an error body is read', () => {
  it('ends in AbortError at once and closes the connection', async () => {
    const server = await serve(stall(400));
    const controller = new AbortController();
    const running = settle(
      client(server.url, { timeout: 10_000 }).sites.list('S', { signal: controller.signal }).toArray(),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const { error } = await running;
    expect(error).toBeInstanceOf(AbortError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.seen[0]!.closedAt).toBeDefined();
  });
});

describe('ConnectionError names its cause', () => {
  it('connection refused', async () => {
    const server = await serve(() => undefined);
    const url = server.url;
    for (const close of servers.splice(0)) await close();
    const error = await client(url, { retries: 0 })
      .sites.list('S')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toMatch(/connection refused/i);
  });

  it('a host name that does not resolve', async () => {
    // .invalid never resolves (RFC 6761); an offline resolver answers EAI_AGAIN instead of ENOTFOUND.
    const error = await client('http://imednet-sdk-test.invalid', { retries: 0, timeout: 10_000 })
      .sites.list('S')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(error.code);
    expect(error.message).toMatch(/host not found \(DNS\)/);
  });

  it('a connection reset in the middle of the body', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const error = await client(server.url, { retries: 1 })
      .sites.list('S')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(/closed in the middle of the response/);
    expect(error.code).toBeTruthy();
    expect(error.attempts).toBe(2);
    expect(server.seen).toHaveLength(2);
  });
});
