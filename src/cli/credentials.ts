/**
 * Where the command finds the keys and the host: flags first, then the environment
 * (IMEDNET_API_KEY, IMEDNET_SECURITY_KEY, IMEDNET_BASE_URL), then a `.env` file in the working
 * folder. A missing key is named, with the ways to give it; no key's value is ever printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigurationError } from '../core/errors.js';

/** The flags that may carry credentials. */
export interface CredentialFlags {
  'api-key'?: string | undefined;
  'security-key'?: string | undefined;
  'base-url'?: string | undefined;
}

/** The keys and host the client is made with, and where each came from (for messages). */
export interface Credentials {
  apiKey: string;
  securityKey: string;
  baseUrl?: string;
}

const VARIABLES = {
  apiKey: { env: 'IMEDNET_API_KEY', flag: 'api-key', what: 'API key' },
  securityKey: { env: 'IMEDNET_SECURITY_KEY', flag: 'security-key', what: 'security key' },
  baseUrl: { env: 'IMEDNET_BASE_URL', flag: 'base-url', what: 'host' },
} as const;

/**
 * The `.env` file of `folder` as variables, or an empty object when there is none. A file that
 * cannot be parsed is an error naming the file, not its content (it holds secrets).
 */
export function readDotEnv(folder: string): Record<string, string> {
  const file = join(folder, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return {};
    throw new ConfigurationError(`Cannot read ${file}`);
  }
  try {
    return { ...parseEnv(text) } as Record<string, string>;
  } catch {
    throw new ConfigurationError(`Cannot parse ${file}: write one NAME=value per line`);
  }
}

/**
 * The credentials from the flags, the environment, then `.env` in `cwd`; throws a
 * `ConfigurationError` naming each missing key and how to give it.
 */
export function resolveCredentials(
  flags: CredentialFlags,
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): Credentials {
  let dotEnv: Record<string, string> | undefined;
  const lookup = (name: keyof typeof VARIABLES): string | undefined => {
    const { env: variable, flag } = VARIABLES[name];
    const fromFlag = flags[flag];
    if (fromFlag) return fromFlag;
    if (env[variable]) return env[variable];
    dotEnv ??= readDotEnv(cwd);
    return dotEnv[variable] || undefined;
  };
  const apiKey = lookup('apiKey');
  const securityKey = lookup('securityKey');
  const missing = (['apiKey', 'securityKey'] as const).filter((name) =>
    name === 'apiKey' ? !apiKey : !securityKey,
  );
  if (missing.length > 0) {
    const names = missing.map((name) => VARIABLES[name]);
    throw new ConfigurationError(
      `Missing the iMednet ${names.map((n) => n.what).join(' and ')}: set ${names
        .map((n) => n.env)
        .join(' and ')} in the environment or in a .env file in this folder, or pass ${names
        .map((n) => `--${n.flag}`)
        .join(' and ')} (or try: imednet demo)`,
    );
  }
  const baseUrl = lookup('baseUrl');
  return { apiKey: apiKey!, securityKey: securityKey!, ...(baseUrl ? { baseUrl } : {}) };
}

/** Settings of an S3 destination, from the environment then `.env` (the AWS SDKs' names). */
export interface S3Settings {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
}

/**
 * The S3 credentials, region and endpoint: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`) and `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`) from the environment, then `.env` in `cwd`; `endpoint` (the `--s3-endpoint`
 * flag) first. Throws a `ConfigurationError` naming what is missing.
 */
export function resolveS3Settings(
  endpoint: string | undefined,
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): S3Settings {
  let dotEnv: Record<string, string> | undefined;
  const lookup = (...names: string[]): string | undefined => {
    for (const name of names) if (env[name]) return env[name];
    dotEnv ??= readDotEnv(cwd);
    for (const name of names) if (dotEnv[name]) return dotEnv[name];
    return undefined;
  };
  const accessKeyId = lookup('AWS_ACCESS_KEY_ID');
  const secretAccessKey = lookup('AWS_SECRET_ACCESS_KEY');
  const missing = [
    ...(accessKeyId ? [] : ['AWS_ACCESS_KEY_ID']),
    ...(secretAccessKey ? [] : ['AWS_SECRET_ACCESS_KEY']),
  ];
  if (missing.length > 0) {
    throw new ConfigurationError(
      `Missing the S3 ${missing.length === 2 ? 'keys' : 'key'}: set ${missing.join(' and ')} in the environment or in a .env file in this folder`,
    );
  }
  const settings: S3Settings = { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
  const sessionToken = lookup('AWS_SESSION_TOKEN');
  const region = lookup('AWS_REGION', 'AWS_DEFAULT_REGION');
  const url = endpoint ?? lookup('AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL');
  if (sessionToken) settings.sessionToken = sessionToken;
  if (region) settings.region = region;
  if (url) settings.endpoint = url;
  return settings;
}
