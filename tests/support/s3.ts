/**
 * A throwaway S3-compatible server for the object storage tests: @20minutes/s3rver (which checks
 * SigV4 signatures: a bad one is a 403) on a free loopback port, storing into a temporary folder,
 * silenced, stopped and its folder removed after the file's tests. Reads go through aws4fetch
 * directly, not through the SDK's S3 code, so what a test reads back is what the bucket holds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll } from 'vitest';

/** The key pair s3rver knows out of the box. */
export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: object) => S3rverInstance;

/** The running server: its endpoint, and an independent reader of its buckets. */
export interface TestS3 {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** An object's bytes, or undefined when there is none (404). */
  get(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** An object's text, or undefined. */
  text(bucket: string, key: string): Promise<string | undefined>;
  /** The keys in a bucket under `prefix`, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
}

/** Starts s3rver for this test file, with `buckets` created; stops it after the file's tests. */
export function useS3(buckets: readonly string[] = ['exports']): TestS3 {
  let server: S3rverInstance | undefined;
  let folder = '';
  let endpoint = '';
  const aws = new AwsClient({
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    service: 's3',
    region: 'us-east-1',
    retries: 0,
  });
  beforeAll(async () => {
    const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverClass;
    folder = mkdtempSync(join(tmpdir(), 'imednet-s3-'));
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: folder,
      vhostBuckets: false,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });
  const url = (bucket: string, key: string) =>
    `${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const get = async (bucket: string, key: string) => {
    const response = await aws.fetch(url(bucket, key));
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET ${key}: ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  return {
    get endpoint() {
      return endpoint;
    },
    get,
    async text(bucket, key) {
      const bytes = await get(bucket, key);
      return bytes && new TextDecoder().decode(bytes);
    },
    async keys(bucket, prefix = '') {
      const keys: string[] = [];
      let marker = '';
      for (;;) {
        const query = `prefix=${encodeURIComponent(prefix)}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
        const response = await aws.fetch(`${endpoint}/${bucket}?${query}`);
        if (!response.ok) throw new Error(`listing ${bucket}: ${response.status}`);
        const xml = await response.text();
        const found = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
          m[1]!.replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>'),
        );
        keys.push(...found);
        if (!/<IsTruncated>true<\/IsTruncated>/.test(xml) || found.length === 0) break;
        marker = found.at(-1)!;
      }
      return keys.sort();
    },
  };
}
