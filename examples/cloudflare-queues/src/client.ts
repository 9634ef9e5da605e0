// One SDK client per invocation, from the Worker's secrets. The keys are read here and nowhere else,
// and never logged.
import { Imednet } from 'imednet';
import { workflows } from 'imednet/plugins/workflows';
import type { Env } from './env.js';

const Client = Imednet.plugin(workflows());

/** The SDK client with the workflows plugin (the record mapper the export reads through). */
export type ExportClient = InstanceType<typeof Client>;

/** A client for this invocation; refuses to start without both secrets. */
export function createClient(env: Env): ExportClient {
  if (!env.IMEDNET_API_KEY || !env.IMEDNET_SECURITY_KEY) {
    throw new Error('Set the secrets IMEDNET_API_KEY and IMEDNET_SECURITY_KEY (npx wrangler secret put …)');
  }
  return new Client({
    apiKey: env.IMEDNET_API_KEY,
    securityKey: env.IMEDNET_SECURITY_KEY,
    baseUrl: env.IMEDNET_BASE_URL || undefined,
  });
}
