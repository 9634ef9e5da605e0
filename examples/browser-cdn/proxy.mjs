// A same-origin proxy for the iMednet API: the page calls `/imednet/api/v1/edc/...` on its own
// origin, and this handler forwards the call with the keys added here, on the server. The browser
// never holds a key and needs no CORS. It is a web-standard `(Request) => Response` handler, so the
// same function serves from Node (see server.mjs), Deno.serve, Bun.serve or a Cloudflare Worker.
//
// Put your own user check in front of it: whoever can reach this route acts with your keys.

/** Request headers passed upstream; everything else (cookies, the page's placeholder keys) is dropped. */
const FORWARD = ['accept', 'content-type', 'x-email-notify'];
/** Response headers passed back to the page. */
const RETURN = ['content-type', 'retry-after'];

/**
 * @param {{ apiKey: string, securityKey: string, baseUrl?: string, prefix?: string, methods?: string[] }} options
 * @returns {(request: Request) => Promise<Response>}
 */
export function imednetProxy({
  apiKey,
  securityKey,
  baseUrl = 'https://edc.prod.imednetapi.com',
  prefix = '/imednet',
  methods = ['GET', 'POST'],
}) {
  const upstream = baseUrl.replace(/\/+$/, '');
  return async (request) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${prefix}/api/v1/edc/`)) return new Response('Not found', { status: 404 });
    if (!methods.includes(request.method)) return new Response('Method not allowed', { status: 405 });
    const headers = new Headers({ 'x-api-key': apiKey, 'x-imn-security-key': securityKey });
    for (const name of FORWARD) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const answer = await fetch(upstream + url.pathname.slice(prefix.length) + url.search, {
      method: request.method,
      headers,
      body: request.method === 'GET' ? undefined : await request.arrayBuffer(),
      signal: request.signal,
    });
    const back = new Headers();
    for (const name of RETURN) {
      const value = answer.headers.get(name);
      if (value !== null) back.set(name, value);
    }
    return new Response(answer.body, { status: answer.status, headers: back });
  };
}
