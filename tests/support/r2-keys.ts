/** Reading an R2 bucket from outside a Worker (miniflare's getR2Bucket) in tests. */

/** What listing needs of a bucket: R2's `list`, with its pages. */
export interface ListableBucket {
  list(options: { prefix: string; cursor?: string }): Promise<{
    objects: readonly { key: string }[];
    truncated: boolean;
    cursor?: string;
  }>;
}

/** Every key under `prefix`, across the listing's pages, sorted. */
export async function bucketKeys(store: ListableBucket, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ prefix, ...(cursor ? { cursor } : {}) });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out.sort();
}
