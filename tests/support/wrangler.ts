/**
 * A Worker's wrangler.toml as miniflare options, so a test runs an example with the bindings its
 * users deploy: vars, R2 buckets, queue producers and consumers (batch size and timeout, retries,
 * retry delay, dead-letter queue). Reads the TOML subset wrangler files use: comments, `[table]`,
 * `[[array.of.tables]]`, and `key = value` with strings, numbers, booleans and arrays of those.
 */

/** What the tests read of a wrangler configuration. */
export interface WranglerConfig {
  name: string;
  main: string;
  compatibility_date: string;
  compatibility_flags?: string[];
  vars?: Record<string, string>;
  triggers?: { crons?: string[] };
  r2_buckets?: Array<{ binding: string; bucket_name: string }>;
  queues?: {
    producers?: Array<{ binding: string; queue: string }>;
    consumers?: Array<{
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      retry_delay?: number;
      dead_letter_queue?: string;
    }>;
  };
}

type Table = Record<string, unknown>;

/** The line without its comment (a `#` outside a string). */
function uncomment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}

function value(text: string, where: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^[+-]?\d[\d_]*(\.\d+)?$/.test(text)) return Number(text.replaceAll('_', ''));
  // Basic strings and arrays of them are JSON.
  if (text.startsWith('"') || text.startsWith('[')) return JSON.parse(text);
  throw new Error(`${where}: this reader does not take the value ${text}`);
}

/** Parses the TOML subset described above. */
export function parseWranglerToml(text: string): WranglerConfig {
  const root: Table = {};
  let table = root;
  text.split('\n').forEach((raw, n) => {
    const line = uncomment(raw).trim();
    const where = `wrangler.toml:${n + 1}`;
    if (line === '') return;
    const header = /^(\[\[?)\s*([\w.-]+)\s*\]\]?$/.exec(line);
    if (header) {
      const path = header[2]!.split('.');
      const last = path.pop()!;
      let at = root;
      for (const key of path) {
        at[key] ??= {};
        at = at[key] as Table;
      }
      if (header[1] === '[[') {
        at[last] ??= [];
        table = {};
        (at[last] as Table[]).push(table);
      } else {
        at[last] ??= {};
        table = at[last] as Table;
      }
      return;
    }
    const pair = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
    if (!pair) throw new Error(`${where}: cannot read ${line}`);
    table[pair[1]!] = value(pair[2]!.trim(), where);
  });
  return root as unknown as WranglerConfig;
}

/**
 * The Worker's bindings and queues as miniflare options. `consumers` overrides settings of every
 * consumer (a test shortens waits that production wants, e.g. `{ retryDelay: 0 }`).
 */
export function miniflareOptions(
  config: WranglerConfig,
  consumers: { maxBatchTimeout?: number; retryDelay?: number } = {},
) {
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    bindings: { ...config.vars },
    r2Buckets: Object.fromEntries((config.r2_buckets ?? []).map((b) => [b.binding, b.bucket_name])),
    queueProducers: Object.fromEntries(
      (config.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }]),
    ),
    queueConsumers: Object.fromEntries(
      (config.queues?.consumers ?? []).map((c) => [
        c.queue,
        {
          maxBatchSize: c.max_batch_size,
          maxBatchTimeout: c.max_batch_timeout,
          maxRetries: c.max_retries,
          retryDelay: c.retry_delay,
          deadLetterQueue: c.dead_letter_queue,
          ...consumers,
        },
      ]),
    ),
  };
}
