// What every script of this folder shares: a client with the workflows plugin, built from the
// environment, the study key from the command line, and a one-line error report.
import { Imednet } from 'imednet';
import { workflows } from 'imednet/plugins/workflows';

/** The study the scripts read: the first argument, DEMO when there is none. */
export const studyKey = process.argv[2] ?? 'DEMO';

/** A client whose `client.workflows` holds the workflows. */
export function workflowsClient() {
  const Client = Imednet.plugin(workflows());
  return new Client({
    apiKey: process.env.IMEDNET_API_KEY ?? '',
    securityKey: process.env.IMEDNET_SECURITY_KEY ?? '',
    baseUrl: process.env.IMEDNET_BASE_URL, // optional: defaults to the production host
  });
}

/**
 * Runs a script's body; an error becomes one line on stderr and exit code 1. The SDK's error
 * messages name keys, ids and counts, never a credential or a record value, so they are safe here.
 */
export async function main(body) {
  try {
    await body();
  } catch (error) {
    const name = error?.name ?? 'Error';
    const message = String(error?.message ?? error).replace(/\s+/g, ' ');
    console.error(`${name}: ${message}`);
    process.exitCode = 1;
  }
}
