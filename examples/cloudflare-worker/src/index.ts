// Cloudflare Worker: GET /studies/:studyKey/subjects streams the study's subjects as NDJSON while
// later pages are still being fetched. No nodejs_compat flag is needed.
import { Imednet, isApiError, type Subject } from 'imednet';

interface Env {
  IMEDNET_API_KEY: string;
  IMEDNET_SECURITY_KEY: string;
  IMEDNET_BASE_URL?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const match = /^\/studies\/([^/]+)\/subjects$/.exec(new URL(request.url).pathname);
    if (!match?.[1]) return new Response('Try GET /studies/MYSTUDY/subjects\n', { status: 404 });
    const studyKey = decodeURIComponent(match[1]);
    const client = new Imednet({
      apiKey: env.IMEDNET_API_KEY,
      securityKey: env.IMEDNET_SECURITY_KEY,
      baseUrl: env.IMEDNET_BASE_URL,
    });
    const subjects = client.subjects.list(studyKey, { signal: request.signal });
    const iterator = subjects[Symbol.asyncIterator]();
    // Read the first item before answering, so a bad study key gets a proper error status.
    let pending: IteratorResult<Subject> | undefined;
    try {
      pending = await iterator.next();
    } catch (error) {
      const status = isApiError(error) ? error.status : 502;
      return Response.json({ error: error instanceof Error ? error.message : String(error) }, { status });
    }
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = pending ?? (await iterator.next());
        pending = undefined;
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      },
      cancel: () => void iterator.return?.(),
    });
    return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
  },
};
