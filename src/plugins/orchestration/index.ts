/**
 * `imednet/plugins/orchestration`: run something for every study, on a schedule. Discovery
 * (`studyKeys`, `studyMetadata` as plain JSON with secrets masked) and a log-safe
 * `describeConnection`. Web APIs only: it runs the same in Node, Deno, Bun, Workers and browsers.
 *
 * @example
 * import { Imednet } from 'imednet';
 * import { describeConnection, studyKeys } from 'imednet/plugins/orchestration';
 *
 * const client = new Imednet({ apiKey, securityKey });
 * console.log(describeConnection(client).summary);
 * for (const studyKey of await studyKeys(client, { exclude: ['TRAINING'] })) console.log(studyKey);
 */
export {
  type ConnectionDescription,
  type ConnectionSettings,
  describeConnection,
} from './connection.js';
export {
  type DiscoveryOptions,
  isSecretField,
  type JsonValue,
  type StudiesClient,
  type StudyMetadata,
  studyKeys,
  studyMetadata,
} from './discovery.js';
