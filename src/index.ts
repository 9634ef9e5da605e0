/**
 * imednet: a TypeScript SDK for the iMednet EDC REST API.
 * The root entry holds the client, the errors and the types; nothing heavy is reachable from here.
 */
export { Imednet } from './client.js';
export { API_PATH, DEFAULT_BASE_URL, type ImednetOptions, normalizeBaseUrl } from './core/config.js';
export type { ClientContext } from './core/context.js';
export { formatApiTimestamp, parseApiDate } from './core/dates.js';
export * from './core/errors.js';
export {
  type FilterCondition,
  type FilterInput,
  type FilterObject,
  type FilterValue,
  renderFilter,
  renderSort,
  type SortInput,
} from './core/filters.js';
export type { RequestBudget, RequestBudgetStatus } from './core/pacer.js';
export type { Page, PageFetcher } from './core/pagination.js';
export { Paginator } from './core/pagination.js';
export type {
  Constructor,
  PluggedClass,
  Plugin,
  PluginExtensions,
  PluginHost,
  PluginOptions,
  RequestHooks,
} from './core/plugins.js';
export { redactUrl } from './core/redact.js';
export type { Logger, RequestEvent } from './core/transport.js';
export { type Coding, type CodingField, CodingSchema } from './endpoints/codings.js';
export { type FieldsOf, type Keyword, KeywordSchema } from './endpoints/fields.js';
export { type Form, type FormField, FormSchema } from './endpoints/forms.js';
export { type Interval, type IntervalField, IntervalSchema } from './endpoints/intervals.js';
export {
  isSuccessfulJobState,
  isTerminalJobState,
  type Job,
  JobSchema,
  type JobWaitOptions,
} from './endpoints/jobs.js';
export {
  type Query,
  type QueryComment,
  QueryCommentSchema,
  type QueryField,
  QuerySchema,
} from './endpoints/queries.js';
export {
  type RecordRevision,
  type RecordRevisionField,
  RecordRevisionSchema,
} from './endpoints/record-revisions.js';
export {
  createRecord,
  type Record,
  type RecordCreateItem,
  type RecordCreateOptions,
  type RecordField,
  type RecordJobStatus,
  type RecordListOptions,
  RecordSchema,
  type RecordValues,
  registerSubject,
  updateScheduledRecord,
} from './endpoints/records.js';
export type { GetOptions, ListOptions } from './endpoints/resource.js';
export { type Site, type SiteField, SiteSchema } from './endpoints/sites.js';
export { type Study, type StudyField, StudySchema } from './endpoints/studies.js';
export { type Subject, type SubjectField, SubjectSchema } from './endpoints/subjects.js';
export {
  type Role,
  RoleSchema,
  type User,
  type UserField,
  type UserListOptions,
  UserSchema,
} from './endpoints/users.js';
export { type Variable, type VariableField, VariableSchema } from './endpoints/variables.js';
export { type Visit, type VisitField, VisitSchema } from './endpoints/visits.js';
