// The iMednet OpenAPI description the mock and the schemas are checked against. It lives in the
// workplace's shared/ folder beside the repository (CI has it there); IMEDNET_OPENAPI may point
// elsewhere. Without it the contract tests fail, saying so: they are never skipped.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Where the description is read from. */
export const OPENAPI_PATH =
  process.env.IMEDNET_OPENAPI ??
  fileURLToPath(new URL('../../../shared/api/mednet-openapi.yaml', import.meta.url));

/** The parsed description; throws a message that says where it was looked for. */
export function readOpenApi(): any {
  if (!existsSync(OPENAPI_PATH)) {
    throw new Error(
      `The iMednet OpenAPI description is not at ${OPENAPI_PATH}. The contract tests need it: put the ` +
        'shared/ folder (with api/mednet-openapi.yaml) beside the repository, or set IMEDNET_OPENAPI to its path.',
    );
  }
  return parse(readFileSync(OPENAPI_PATH, 'utf8'));
}
