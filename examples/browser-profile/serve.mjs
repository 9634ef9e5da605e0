// Serves this page and the same-origin proxy that adds the keys to the page's API calls.
//   node serve.mjs                                             the built-in demo study, DEMO
//   IMEDNET_API_KEY=… IMEDNET_SECURITY_KEY=… node serve.mjs    your studies
// then open http://127.0.0.1:8080. Without keys the proxy forwards to imednet/testing's mock API,
// started here on a loopback port with a generated study (every variable type, several sites and
// visits, a few deleted records), so the page works with no account. The server and the proxy are
// the browser-cdn example's (copy server.mjs and proxy.mjs with this folder if you take it out of
// the repository).
import { fileURLToPath } from 'node:url';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY, startMockServer } from 'imednet/testing';
import { imednetProxy } from '../browser-cdn/proxy.mjs';
import { startServer } from '../browser-cdn/server.mjs';

const { IMEDNET_API_KEY, IMEDNET_SECURITY_KEY, IMEDNET_BASE_URL, PORT } = process.env;
if (Boolean(IMEDNET_API_KEY) !== Boolean(IMEDNET_SECURITY_KEY)) {
  console.error('Set both IMEDNET_API_KEY and IMEDNET_SECURITY_KEY, or neither for the demo study.');
  process.exit(1);
}

let upstream;
if (IMEDNET_API_KEY) {
  upstream = {
    apiKey: IMEDNET_API_KEY,
    securityKey: IMEDNET_SECURITY_KEY,
    ...(IMEDNET_BASE_URL ? { baseUrl: IMEDNET_BASE_URL } : {}),
  };
} else {
  const mock = await startMockServer({
    study: { studyKey: 'DEMO', records: 5000, subjects: 150, sites: 6, seed: 2026 },
  });
  upstream = { apiKey: DEFAULT_API_KEY, securityKey: DEFAULT_SECURITY_KEY, baseUrl: mock.url };
  console.log(`No keys set: the demo study DEMO (${mock.study.records.length} records) from a mock API`);
}

const root = fileURLToPath(new URL('.', import.meta.url));
const { url } = await startServer({
  root,
  proxy: imednetProxy(upstream),
  port: PORT === undefined ? 8080 : Number(PORT),
});
console.log(`Listening on ${url}`);
