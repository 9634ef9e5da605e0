/**
 * `imednet/plugins/sinks/s3`: an S3 bucket (AWS, or any S3-compatible store: MinIO, Cloudflare R2's
 * S3 API, Ceph, ...) as the output directory of the file sinks (CSV, NDJSON, JSON, Parquet). Requests
 * are signed with AWS Signature V4 by `aws4fetch` (an optional peer dependency, loaded at first
 * use) and sent with `fetch`, so it runs in Node, Deno, Bun, Workers and browsers alike.
 *
 * A file becomes an object only when it is finished: each file is a (multipart, past one part)
 * upload completed when the sink gives the file its final name, so no object under a final name is
 * ever half written, and an interrupted export's unfinished files are written again by the rerun.
 * The manifest is `<prefix>/.imednet-export.json`. A crash leaves started multipart uploads pending
 * in the bucket; they are aborted when the same key is written again (where the store lists
 * uploads), and a lifecycle rule on the bucket (AbortIncompleteMultipartUpload) clears the rest.
 *
 * Errors name the bucket and key, never the secret, the session token or a signature: a 403 (bad
 * credentials, clock skew, no permission) and a missing bucket are `ExportConfigurationError`; a
 * 5xx or an unreachable endpoint is an `ObjectStoreError`, which the export runner retries.
 */

import type { OutputDirectory } from './directory.js';
import { ExportConfigurationError } from './errors.js';
import { type ObjectStore, ObjectStoreError, objectDirectory, type UploadedPart } from './object-store.js';

export { ObjectStoreError } from './object-store.js';

/**
 * Options of {@link s3Directory}. Give `endpoint` for an S3-compatible store (path-style URLs:
 * `<endpoint>/<bucket>/<key>`), or only `region` for AWS S3.
 * @example
 * ({
 *   region: 'eu-west-1',
 *   bucket: 'clinical-exports',
 *   prefix: 'MYSTUDY/2026-12-01',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
 *   secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
 * })
 */
export interface S3DirectoryOptions {
  /** The store's URL, e.g. `https://<account>.r2.cloudflarestorage.com` or `http://localhost:9000`. */
  endpoint?: string;
  /** The signing region (default `us-east-1` with an `endpoint`; R2 takes `auto`). */
  region?: string;
  bucket: string;
  /** Folder of the objects within the bucket, e.g. `exports/MYSTUDY` (default: the bucket's root). */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials (STS). */
  sessionToken?: string;
  /**
   * Bytes per part of a multipart upload (default 8 MiB, at least 5 MiB). Each table being written
   * holds up to this much in memory; a file smaller than one part is sent as one PUT.
   */
  partSize?: number;
  /** The `fetch` to send requests with (default: `globalThis.fetch`, read at each request). */
  fetch?: typeof fetch;
}

type Aws4Fetch = typeof import('aws4fetch');

let library: Promise<Aws4Fetch> | undefined;

/** Loads `aws4fetch` once, at first use: a missing package names itself. */
function loadLibrary(): Promise<Aws4Fetch> {
  library ??= import('aws4fetch').catch((cause: unknown) => {
    library = undefined;
    throw new ExportConfigurationError(
      'The S3 directory needs the aws4fetch package: npm install aws4fetch',
      {
        cause,
      },
    );
  });
  return library;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** `&amp;` and its kin back to characters, in the few XML values read here. */
const unescapeXml = (text: string) =>
  text.replace(/&(lt|gt|quot|apos|amp|#x?[0-9a-fA-F]+);/g, (_entity, name: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
    if (named[name]) return named[name];
    return String.fromCodePoint(name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1)));
  });

const xmlValues = (xml: string, tag: string) =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => unescapeXml(m[1]!));

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The S3 API over SigV4-signed fetch requests. */
function s3Store(options: S3DirectoryOptions): ObjectStore {
  const { bucket } = options;
  let base: string;
  let region = options.region;
  if (options.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new ExportConfigurationError(
        's3Directory: endpoint must be a URL such as https://s3.example.com',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ExportConfigurationError('s3Directory: endpoint must be an http or https URL');
    }
    if (url.username || url.password || url.search || url.hash) {
      // Not echoed: it may hold a password.
      throw new ExportConfigurationError(
        's3Directory: endpoint must not hold a user name, password, query or fragment; give the credentials as accessKeyId and secretAccessKey',
      );
    }
    base = `${url.origin}${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(bucket)}`;
    region ??= 'us-east-1';
  } else if (typeof region === 'string' && /^[a-z0-9-]+$/.test(region)) {
    // Virtual-hosted style, as AWS recommends; a bucket with dots would not match the certificate.
    base = bucket.includes('.')
      ? `https://s3.${region}.amazonaws.com/${encodeURIComponent(bucket)}`
      : `https://${bucket}.s3.${region}.amazonaws.com`;
  } else {
    throw new ExportConfigurationError(
      "s3Directory: give endpoint (an S3-compatible store's URL) or region (AWS S3, e.g. 'eu-west-1')",
    );
  }
  const origin = new URL(base).origin;
  const label = `s3://${bucket}`;
  const urlOf = (key: string, query = '') =>
    `${base}/${key.split('/').map(encodeURIComponent).join('/')}${query ? `?${query}` : ''}`;

  let signer: Promise<InstanceType<Aws4Fetch['AwsClient']>> | undefined;
  const client = () => {
    signer ??= loadLibrary().then(
      ({ AwsClient }) =>
        new AwsClient({
          accessKeyId: options.accessKeyId,
          secretAccessKey: options.secretAccessKey,
          ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
          service: 's3',
          region: region!,
          // The export runner retries; a second layer here would multiply the attempts.
          retries: 0,
        }),
    );
    return signer;
  };

  /** Why a request failed, by status and S3's error code: never the response's other text. */
  async function failure(response: Response, action: string, key: string): Promise<Error> {
    const body = await response.text().catch(() => '');
    const code = /^[A-Za-z.]{1,64}$/.test(xmlValues(body, 'Code')[0] ?? '') ? xmlValues(body, 'Code')[0] : '';
    const what = `${action} ${key} in bucket ${bucket}`;
    const status = `${response.status}${code ? ` ${code}` : ''}`;
    if (response.status === 403 || response.status === 401) {
      return new ExportConfigurationError(
        `${label}: ${what} was refused (${status}): check accessKeyId, secretAccessKey, the bucket's permissions and the system clock`,
      );
    }
    if (code === 'NoSuchBucket') {
      return new ExportConfigurationError(
        `${label}: bucket ${bucket} does not exist at ${origin} (${status})`,
      );
    }
    if (
      response.status >= 500 ||
      response.status === 429 ||
      code === 'RequestTimeout' ||
      code === 'SlowDown'
    ) {
      return new ObjectStoreError(`${label}: ${what} failed (${status}); it may pass if tried again`);
    }
    return new ObjectStoreError(`${label}: ${what} failed (${status})`);
  }

  /** Signs and sends one request; answers the response when its status is one of `ok`. */
  async function send(
    method: string,
    url: string,
    action: string,
    key: string,
    body?: Uint8Array,
    ok: readonly number[] = [200],
  ): Promise<Response> {
    const aws = await client();
    const headers: Record<string, string> = {};
    if (body) {
      // A signed payload: the store checks every byte it receives against the signature.
      headers['x-amz-content-sha256'] = hex(await crypto.subtle.digest('SHA-256', body as BufferSource));
    }
    const request = await aws.sign(url, { method, headers, ...(body ? { body: body as BodyInit } : {}) });
    let response: Response;
    try {
      response = await (options.fetch ?? globalThis.fetch)(request);
    } catch (cause) {
      // The cause is the runtime's own network error: it names the host, never the signed headers.
      throw new ObjectStoreError(`${label}: cannot reach ${origin} (${action} ${key})`, { cause });
    }
    if (ok.includes(response.status)) return response;
    throw await failure(response, action, key);
  }

  return {
    label,
    async put(key, body) {
      await send('PUT', urlOf(key), 'writing', key, body);
    },
    async get(key) {
      const response = await send('GET', urlOf(key), 'reading', key, undefined, [200, 404]);
      if (response.status === 200) return response.body ?? new Response('').body!;
      const body = await response.text();
      if (xmlValues(body, 'Code')[0] === 'NoSuchBucket') {
        throw new ExportConfigurationError(`${label}: bucket ${bucket} does not exist at ${origin}`);
      }
      return undefined;
    },
    async delete(key) {
      await send('DELETE', urlOf(key), 'deleting', key, undefined, [200, 204, 404]);
    },
    async exists(key) {
      const response = await send('HEAD', urlOf(key), 'reading', key, undefined, [200, 404]);
      return response.status === 200;
    },
    async createMultipart(key) {
      const response = await send('POST', urlOf(key, 'uploads'), 'starting an upload of', key);
      const uploadId = xmlValues(await response.text(), 'UploadId')[0];
      if (!uploadId) throw new ObjectStoreError(`${label}: starting an upload of ${key} gave no upload id`);
      return uploadId;
    },
    async uploadPart(key, uploadId, partNumber, body) {
      const query = `partNumber=${partNumber}&uploadId=${encodeURIComponent(uploadId)}`;
      const response = await send('PUT', urlOf(key, query), `sending part ${partNumber} of`, key, body);
      // Read to its (empty) end: cancelling a body can stall some fetch layers (msw).
      await response.arrayBuffer();
      const etag = response.headers.get('etag');
      if (!etag)
        throw new ObjectStoreError(`${label}: part ${partNumber} of ${key} came back without an ETag`);
      return { partNumber, etag };
    },
    async completeMultipart(key, uploadId, parts: readonly UploadedPart[]) {
      const xml = `<CompleteMultipartUpload>${parts
        .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
        .join('')}</CompleteMultipartUpload>`;
      const response = await send(
        'POST',
        urlOf(key, `uploadId=${encodeURIComponent(uploadId)}`),
        'completing the upload of',
        key,
        new TextEncoder().encode(xml),
      );
      // S3 may answer 200 and still report an error in the body.
      const text = await response.text();
      if (/<Error>/.test(text)) {
        const code = xmlValues(text, 'Code')[0] ?? 'an error';
        throw new ObjectStoreError(`${label}: completing the upload of ${key} failed (${code.slice(0, 64)})`);
      }
    },
    async abortMultipart(key, uploadId) {
      const query = `uploadId=${encodeURIComponent(uploadId)}`;
      await send('DELETE', urlOf(key, query), 'aborting the upload of', key, undefined, [200, 204, 404]);
    },
    async abortStale(key) {
      const query = `prefix=${encodeURIComponent(key)}&uploads=`;
      const response = await send('GET', `${base}/?${query}`, 'listing the uploads of', key);
      const xml = await response.text();
      for (const [, upload] of xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
        const [uploadKey] = xmlValues(upload!, 'Key');
        const [uploadId] = xmlValues(upload!, 'UploadId');
        if (uploadKey === key && uploadId) await this.abortMultipart(key, uploadId);
      }
    },
  };
}

/**
 * An S3 bucket (or an S3-compatible store) as the output directory of a file sink: each finished
 * file becomes one object, `<prefix>/<file>`, and only once whole (see the module note).
 * @example
 * import { csvSink } from 'imednet/plugins/sinks/csv';
 * import { s3Directory } from 'imednet/plugins/sinks/s3';
 *
 * const directory = s3Directory({
 *   region: 'eu-west-1',
 *   bucket: 'clinical-exports',
 *   prefix: 'MYSTUDY',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
 *   secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
 * });
 * const sink = csvSink({ directory });
 */
export function s3Directory(options: S3DirectoryOptions): OutputDirectory {
  if (typeof options !== 'object' || options === null) {
    throw new ExportConfigurationError(
      's3Directory: give the bucket, its endpoint or region, and the credentials',
    );
  }
  if (typeof options.bucket !== 'string' || !BUCKET_NAME.test(options.bucket)) {
    throw new ExportConfigurationError(
      `s3Directory: bucket must be a bucket name (3 to 63 lower-case letters, digits, '.' and '-'; got ${JSON.stringify(String(options.bucket)).slice(0, 80)})`,
    );
  }
  for (const name of ['accessKeyId', 'secretAccessKey'] as const) {
    if (typeof options[name] !== 'string' || options[name].length === 0) {
      throw new ExportConfigurationError(`s3Directory: ${name} must be a non-empty string`);
    }
  }
  if (options.sessionToken !== undefined && typeof options.sessionToken !== 'string') {
    throw new ExportConfigurationError('s3Directory: sessionToken must be a string');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ExportConfigurationError('s3Directory: fetch must be a function');
  }
  return objectDirectory(s3Store(options), {
    prefix: options.prefix,
    partSize: options.partSize,
    caller: 's3Directory',
  });
}
