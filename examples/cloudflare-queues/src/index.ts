// Scale-out export of every study the keys can see, on Cloudflare Queues and R2.
//
// - scheduled (the cron in wrangler.toml), or POST /runs?run=<id>: the producer plans the run and
//   enqueues one message per part (src/plan.ts);
// - queue `imednet-export`: the consumer exports a part to R2 as Parquet, acks it when complete,
//   retries it on failure, resuming from the part's manifest (src/export-part.ts);
// - queue `imednet-export-dlq`: parts that failed every delivery, recorded in R2 (src/dead-letter.ts);
// - GET /runs/<id>: the run's status (src/status.ts).
//
// The HTTP routes need `Authorization: Bearer <ADMIN_TOKEN>`; without that secret they answer 404.
import { recordFailures } from './dead-letter.js';
import type { Env, MessageBatch, PartMessage, ScheduledController } from './env.js';
import { exportPart } from './export-part.js';
import { checkRun, describeError, isPartMessage } from './layout.js';
import { produceRun } from './plan.js';
import { runStatus } from './status.js';

/** The run a cron tick starts: one per UTC day, so ticks on the same day make the same run. */
const runOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/** Whether the request carries the admin token (compared by digest, in constant time). */
async function authorized(request: Request, env: Env): Promise<boolean> {
  if (!env.ADMIN_TOKEN) return false;
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const [given, wanted] = await Promise.all([
    digest(request.headers.get('authorization') ?? ''),
    digest(`Bearer ${env.ADMIN_TOKEN}`),
  ]);
  let difference = 0;
  given.forEach((byte, i) => {
    difference |= byte ^ wanted[i]!;
  });
  return difference === 0;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (!(await authorized(request, env))) return new Response('Not found\n', { status: 404 });
    const url = new URL(request.url);
    try {
      if (request.method === 'POST' && url.pathname === '/runs') {
        const run = checkRun(url.searchParams.get('run') ?? runOf(Date.now()));
        const plan = await produceRun(env, run);
        return Response.json({ run, parts: plan.parts.length }, { status: 202 });
      }
      const match = /^\/runs\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && match?.[1]) {
        const status = await runStatus(env, checkRun(decodeURIComponent(match[1])));
        return status ? Response.json(status) : new Response('No such run\n', { status: 404 });
      }
      return new Response('Try POST /runs?run=<id> or GET /runs/<id>\n', { status: 404 });
    } catch (error) {
      const status = error instanceof RangeError ? 400 : 500;
      return Response.json({ error: describeError(error) }, { status });
    }
  },

  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    await produceRun(env, runOf(controller.scheduledTime));
  },

  async queue(batch: MessageBatch<PartMessage>, env: Env): Promise<void> {
    if (batch.queue === env.DEAD_LETTER_QUEUE) return recordFailures(env, batch);
    // One part after another: each is heavy, and wrangler.toml gives one per batch anyway.
    for (const message of batch.messages) {
      if (!isPartMessage(message.body)) {
        console.error(JSON.stringify({ event: 'unreadable-message', messageId: message.id }));
        message.ack();
        continue;
      }
      try {
        await exportPart(env, message);
      } catch (error) {
        // Only taking or releasing the lease can land here (R2 unreachable): try the part later.
        console.error(
          JSON.stringify({ event: 'part-error', messageId: message.id, error: describeError(error) }),
        );
        message.retry();
      }
    }
  },
};
