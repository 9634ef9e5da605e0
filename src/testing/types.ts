// Wire shapes the mock serves. They mirror the OpenAPI schemas field for field and are kept apart
// from the SDK's own schemas on purpose: the mock must stay an independent witness of the contract.

/** A study as listed by `GET /studies`. */
export interface ApiStudy {
  sponsorKey: string;
  studyKey: string;
  studyId: number;
  studyName: string;
  studyDescription: string;
  studyType: string;
  dateCreated: string;
  dateModified: string;
}

/** A site of a study. */
export interface ApiSite {
  studyKey: string;
  siteId: number;
  siteName: string;
  siteEnrollmentStatus: string;
  dateCreated: string;
  dateModified: string;
}

/** A form (eCRF) definition. */
export interface ApiForm {
  studyKey: string;
  formId: number;
  formKey: string;
  formName: string;
  formType: string;
  revision: number;
  embeddedLog: boolean;
  enforceOwnership: boolean;
  userAgreement: boolean;
  subjectRecordReport: boolean;
  unscheduledVisit: boolean;
  otherForms: boolean;
  eproForm: boolean;
  allowCopy: boolean;
  disabled: boolean;
  dateCreated: string;
  dateModified: string;
}

/** A form reference inside an interval. */
export interface ApiIntervalForm {
  formId: number;
  formKey: string;
  formName: string;
}

/** An interval (visit definition). */
export interface ApiInterval {
  studyKey: string;
  intervalId: number;
  intervalName: string;
  intervalDescription: string;
  intervalSequence: number;
  intervalGroupId: number;
  intervalGroupName: string;
  timeline: string;
  definedUsingInterval: string;
  windowCalculationForm: string;
  windowCalculationDate: string;
  actualDateForm: string;
  actualDate: string;
  dueDateWillBeIn: number;
  negativeSlack: number;
  positiveSlack: number;
  eproGracePeriod: number;
  forms: ApiIntervalForm[];
  disabled: boolean;
  dateCreated: string;
  dateModified: string;
}

/** A subject's visit instance. */
export interface ApiVisit {
  studyKey: string;
  visitId: number;
  intervalId: number;
  intervalName: string;
  subjectId: number;
  subjectKey: string;
  startDate: string;
  endDate: string;
  dueDate: string | null;
  visitDate: string;
  visitDateForm: string;
  visitDateQuestion: string;
  deleted: boolean;
  dateCreated: string;
  dateModified: string;
}

/** A keyword attached to a subject or record. */
export interface ApiKeyword {
  keywordName: string;
  keywordKey: string;
  keywordId: number;
  dateAdded: string;
}

/** A subject (participant). */
export interface ApiSubject {
  studyKey: string;
  subjectId: number;
  subjectOid: string;
  subjectKey: string;
  subjectStatus: string;
  siteId: number;
  siteName: string;
  deleted: boolean;
  enrollmentStartDate: string;
  dateCreated: string;
  dateModified: string;
  keywords: ApiKeyword[];
}

/** A role held by a user; its dates are `[year, month, day, hour, minute, second, nanosecond]`. */
export interface ApiRole {
  dateCreated: number[];
  dateModified: number[];
  roleId: string;
  communityId: number;
  name: string;
  description: string;
  level: number;
  type: string;
  inactive: boolean;
}

/** A study user. */
export interface ApiUser {
  userId: string;
  login: string;
  firstName: string;
  lastName: string;
  email: string;
  userActiveInStudy: boolean;
  roles: ApiRole[];
}

/** A variable (field) definition. */
export interface ApiVariable {
  studyKey: string;
  variableId: number;
  variableType: string;
  variableName: string;
  sequence: number;
  revision: number;
  disabled: boolean;
  dateCreated: string;
  dateModified: string;
  formId: number;
  variableOid: string;
  deleted: boolean;
  formKey: string;
  formName: string;
  label: string;
  blinded: boolean;
}

/** A coding entry. */
export interface ApiCoding {
  studyKey: string;
  siteName: string;
  siteId: number;
  subjectId: number;
  subjectKey: string;
  formId: number;
  formName: string;
  formKey: string;
  revision: number;
  recordId: number;
  variable: string;
  value: string;
  codingId: number;
  code: string;
  codedBy: string;
  reason: string;
  dictionaryName: string;
  dictionaryVersion: string;
  dateCoded: string;
}

/** One step in a query's history. */
export interface ApiQueryComment {
  sequence: number;
  annotationStatus: string;
  user: string;
  comment: string;
  closed: boolean;
  date: string;
}

/** A query (annotation). */
export interface ApiQuery {
  studyKey: string;
  subjectId: number;
  subjectOid: string;
  annotationType: string;
  annotationId: number;
  type: string | null;
  description: string;
  recordId: number;
  variable: string;
  subjectKey: string;
  dateCreated: string;
  dateModified: string;
  queryComments: ApiQueryComment[];
}

/** One audit-trail revision of a record. */
export interface ApiRecordRevision {
  studyKey: string;
  recordRevisionId: number;
  recordId: number;
  recordOid: string;
  recordRevision: number;
  dataRevision: number;
  recordStatus: string;
  subjectId: number;
  subjectOid: string;
  subjectKey: string;
  siteId: number;
  formKey: string;
  intervalId: number;
  role: string;
  user: string;
  reasonForChange: string;
  deleted: boolean;
  dateCreated: string;
}

/** Values of a record keyed by variable name. */
export type ApiRecordData = Record<string, unknown>;

/** A record (eCRF instance). */
export interface ApiRecord {
  studyKey: string;
  intervalId: number;
  formId: number;
  formKey: string;
  siteId: number;
  recordId: number;
  recordOid: string;
  recordType: string;
  recordStatus: string;
  deleted: boolean;
  dateCreated: string;
  dateModified: string;
  subjectId: number;
  subjectOid: string;
  subjectKey: string;
  visitId: number;
  parentRecordId: number;
  keywords: ApiKeyword[];
  recordData: ApiRecordData;
}

/** A record without its values: what filters and sorts on records look at. */
export type ApiRecordHeader = Omit<ApiRecord, 'recordData'>;

/** A background job created by `POST /records`. Dates are absent until the step happens. */
export interface ApiJob {
  jobId: string;
  batchId: string;
  state: string;
  dateCreated: string;
  dateStarted?: string;
  dateFinished?: string;
}

/** An index-addressable collection whose items are produced on demand. */
export interface LazyList<T> extends Iterable<T> {
  readonly length: number;
  at(position: number): T | undefined;
}
