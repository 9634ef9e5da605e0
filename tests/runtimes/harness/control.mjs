// Talks to the test host's control endpoint, which drives the mock API behind the fixture: fault
// injection, changes to the study and the request log. Plain fetch, so it works the same from every runtime.

/**
 * @param {string} controlUrl origin of the host's control server for this fixture
 */
export function createControl(controlUrl) {
  const call = async (path, init) => {
    const response = await fetch(`${controlUrl}${path}`, init);
    if (!response.ok) throw new Error(`control ${path} answered ${response.status}`);
    return response.json();
  };
  return {
    /** Replaces the mock's faults (an empty object clears them). */
    setFaults: (faults) =>
      call('/faults', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      }),
    /** How many requests the mock has seen so far: pass it to `requestsSince`. */
    mark: async () => (await call('/requests')).length,
    /** Requests the mock saw after `mark`: `{ method, path, search, status }`. */
    requestsSince: async (mark) => await call(`/requests?from=${mark}`),
    /**
     * Changes the study a minute later than its clock: `{ update, softDelete, hardDelete, add }`
     * records. Resolves to the ids touched: `{ updated, softDeleted, hardDeleted, added }`.
     */
    mutate: (changes) =>
      call('/mutate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(changes),
      }),
  };
}
