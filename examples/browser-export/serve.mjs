// Serves this page and the same-origin proxy that adds your keys to the page's API calls:
//   IMEDNET_API_KEY=... IMEDNET_SECURITY_KEY=... node serve.mjs   then open http://127.0.0.1:8080
// The server and the proxy are the browser-cdn example's (copy server.mjs and proxy.mjs with this
// folder if you take it out of the repository). The File System Access API needs a secure
// context: 127.0.0.1 and localhost are, any other host needs HTTPS.
import { fileURLToPath } from 'node:url';
import { imednetProxy } from '../browser-cdn/proxy.mjs';
import { startServer } from '../browser-cdn/server.mjs';

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
