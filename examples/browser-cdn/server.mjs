// Serves this folder's page and mounts the same-origin proxy at /imednet. Run it with your keys:
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node server.mjs   then open http://127.0.0.1:8080
// The keys stay in this process; the page only ever talks to its own origin.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { imednetProxy } from './proxy.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/** A file under `root` for a URL path, or undefined (never a path outside `root`). */
function fileFor(root, pathname) {
  const relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  const file = resolve(join(root, relative));
  return file.startsWith(root + sep) ? file : undefined;
}

/** Turns a Node request into a web Request whose signal fires when the browser goes away. */
async function toWebRequest(req, res, origin) {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const init = { method: req.method, headers, signal: controller.signal };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    init.body = Buffer.concat(chunks);
  }
  return new Request(new URL(req.url ?? '/', origin), init);
}

async function sendWebResponse(res, response) {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
}

/**
 * Starts the page server. `proxy` answers everything under /imednet/.
 * @param {{ root: string, proxy: (request: Request) => Promise<Response>, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startServer({ root, proxy, port = 8080, host = '127.0.0.1' }) {
  const base = resolve(root);
  let origin = '';
  const server = createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url ?? '/', origin);
      if (pathname.startsWith('/imednet/')) {
        return await sendWebResponse(res, await proxy(await toWebRequest(req, res, origin)));
      }
      const file = fileFor(base, pathname);
      const body = file && (await readFile(file).catch(() => undefined));
      if (!body) return res.writeHead(404).end('Not found');
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      if (!res.headersSent) res.writeHead(502).end('Bad gateway');
      else res.destroy();
    }
  });
  await new Promise((ready) => server.listen(port, host, ready));
  origin = `http://${host}:${server.address().port}`;
  return {
    url: origin,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { IMEDNET_API_KEY, IMEDNET_SECURITY_KEY, IMEDNET_BASE_URL, PORT } = process.env;
  if (!IMEDNET_API_KEY || !IMEDNET_SECURITY_KEY) {
    console.error('Set IMEDNET_API_KEY and IMEDNET_SECURITY_KEY (and optionally IMEDNET_BASE_URL, PORT).');
    process.exit(1);
  }
  const proxy = imednetProxy({
    apiKey: IMEDNET_API_KEY,
    securityKey: IMEDNET_SECURITY_KEY,
    ...(IMEDNET_BASE_URL ? { baseUrl: IMEDNET_BASE_URL } : {}),
  });
  const root = fileURLToPath(new URL('.', import.meta.url));
  const { url } = await startServer({ root, proxy, port: PORT === undefined ? 8080 : Number(PORT) });
  console.log(`Listening on ${url}`);
}
