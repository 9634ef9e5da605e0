// msw glue: every request under the API's base path goes to the mock's handle().
// Unlike the rest of this folder, importing this module imports msw, which inspects globals when it
// loads; hosts without msw should import the other modules (or a subpath without this file).

import { HttpResponse, http, type RequestHandler } from 'msw';
import { BASE_PATH, type MockApi } from './handler.js';

/** Options of {@link mockApiHandlers}. */
export interface MockApiHandlersOptions {
  /** Only intercept this base URL (for example 'https://edc.example.com/api/v1/edc'); default: any host. */
  baseUrl?: string;
}

/** msw request handlers that answer iMednet API calls from the mock API. */
export function mockApiHandlers(api: MockApi, options: MockApiHandlersOptions = {}): RequestHandler[] {
  const pattern = options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/*` : `*${BASE_PATH}/*`;
  return [
    http.all(pattern, async ({ request }) => {
      const response = await api.handle(request);
      // msw only treats its own error response as a network failure.
      return response.type === 'error' ? HttpResponse.error() : response;
    }),
  ];
}
