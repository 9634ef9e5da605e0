// Public entry of `imednet/testing`: a seeded fake study, the mock API over it, and ways to host
// that mock (msw handlers, a Node loopback server). Nothing here runs code at import time.

/** Every variable type the fake study uses. */
export { VARIABLE_TYPES, type VariableType } from './catalog.js';
/** Fault injection options of the mock API. */
export type { CountedFault, FaultOptions, FaultScope } from './faults.js';
/** The filter grammar's parser and evaluator, as the mock applies it. */
export {
  compileFilter,
  FilterError,
  type FilterExpression,
  type FilterOperator,
  type FilterTerm,
  matchesFilter,
  type ParseFilterOptions,
  parseFilter,
} from './filter.js';
/** The mock API as one web-standard request handler. */
export {
  BASE_PATH,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockApi,
  type MockApiOptions,
  type RequestLogEntry,
} from './handler.js';
/** Job behaviour options of the mock API. */
export type { JobOptions, JobOutcome } from './jobs.js';
/** The seeded pseudo-random generator behind the fake study. */
export { createRandom, hash32, SeededRandom } from './random.js';
/** How record values are typed in a fake study. */
export type { ValueStyle } from './records.js';
/** A real loopback HTTP server around the mock API (Node only; node:http is loaded on call). */
export { type MockServer, type MockServerOptions, startMockServer } from './server.js';
/** The seeded, lazily generated fake study. */
export {
  createFakeStudy,
  type FakeStudy,
  type FakeStudyOptions,
  isFakeStudy,
  type NewRecord,
  type RecordList,
  type RecordPatch,
  type StudyCounts,
} from './study.js';
/** API timestamp helpers (`YYYY-MM-DD HH:mm:ss`, UTC). */
export { formatTimestamp, parseTimestamp } from './time.js';
/** Wire shapes the mock serves. */
export type {
  ApiCoding,
  ApiForm,
  ApiInterval,
  ApiIntervalForm,
  ApiJob,
  ApiKeyword,
  ApiQuery,
  ApiQueryComment,
  ApiRecord,
  ApiRecordData,
  ApiRecordHeader,
  ApiRecordRevision,
  ApiRole,
  ApiSite,
  ApiStudy,
  ApiSubject,
  ApiUser,
  ApiVariable,
  ApiVisit,
  LazyList,
} from './types.js';
