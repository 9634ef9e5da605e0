// Loaded (node --import) before each documentation example that tests/unit/examples-docs.test.ts
// runs. It gives the examples what a reader has and a test must fake, and nothing else:
// - the production host is the mock API: every request to https://edc.prod.imednetapi.com goes to
//   IMEDNET_EXAMPLES_MOCK_URL (any other host but loopback is refused, so no example reaches the net);
// - IMEDNET_API_KEY / IMEDNET_SECURITY_KEY are the mock's keys (set by the test in the environment);
// - the names the README's later sections take from earlier ones or from the reader: `client`,
//   `apiKey`, `securityKey` (globals, declared for the compiler by the test).
// The mock serves a study whose key is MYSTUDY, so the examples keep their study key as written.
import { Imednet } from '../../src/index.js';

const PRODUCTION = 'https://edc.prod.imednetapi.com';
const mock = process.env.IMEDNET_EXAMPLES_MOCK_URL;
if (!mock) throw new Error('IMEDNET_EXAMPLES_MOCK_URL is not set');

const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  const target = url.startsWith(PRODUCTION) ? mock + url.slice(PRODUCTION.length) : url;
  if (!/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(target)) {
    throw new Error(`an example tried to reach ${new URL(target).origin}`);
  }
  return input instanceof Request ? realFetch(new Request(target, input), init) : realFetch(target, init);
};

const globals = globalThis as { apiKey?: string; securityKey?: string; client?: Imednet };
globals.apiKey = process.env.IMEDNET_API_KEY ?? '';
globals.securityKey = process.env.IMEDNET_SECURITY_KEY ?? '';
globals.client = new Imednet({ apiKey: globals.apiKey, securityKey: globals.securityKey });
