// What each list path serves, and which of its fields can be filtered and sorted on: the scalar
// fields of the resource's schema (arrays and objects are neither filterable nor sortable).

import type { FilterExpression } from './filter.js';
import { dateLowerBound } from './listing.js';
import type { FakeStudy } from './study.js';
import type { LazyList } from './types.js';

/** One list resource of the API. */
export interface ResourceSpec {
  /** Path segment under `/studies/{studyKey}` (or 'studies'). */
  name: string;
  /** Field the API sorts by when no sort is given (as in the spec's examples). */
  defaultSort: string;
  /** Scalar fields usable in `filter` and `sort`. */
  fields: ReadonlySet<string>;
  /** Whether `filter` is accepted. */
  filterable: boolean;
  /** The items, in default-sort order. */
  items(study: FakeStudy, includeInactive: boolean): LazyList<object>;
  /** A cheaper view of the item at `position` that still has every filterable field. */
  probe?(study: FakeStudy, position: number): object | undefined;
  /** Ascending positions that may match `filter` (a superset), or undefined to scan all. */
  candidates?(study: FakeStudy, filter: FilterExpression): Iterable<number> | undefined;
}

const set = (...names: string[]) => new Set(names);

/** Fields of the Study schema, for `GET /studies`. */
export const STUDY_FIELDS = set(
  'sponsorKey',
  'studyKey',
  'studyId',
  'studyName',
  'studyDescription',
  'studyType',
  'dateCreated',
  'dateModified',
);

/** Resources under `/studies/{studyKey}`, by path segment. */
export const RESOURCES: ReadonlyMap<string, ResourceSpec> = new Map(
  (
    [
      {
        name: 'sites',
        defaultSort: 'siteId',
        fields: set('studyKey', 'siteId', 'siteName', 'siteEnrollmentStatus', 'dateCreated', 'dateModified'),
        filterable: true,
        items: (s) => s.sites,
      },
      {
        name: 'forms',
        defaultSort: 'formId',
        fields: set(
          'studyKey',
          'formId',
          'formKey',
          'formName',
          'formType',
          'revision',
          'embeddedLog',
          'enforceOwnership',
          'userAgreement',
          'subjectRecordReport',
          'unscheduledVisit',
          'otherForms',
          'eproForm',
          'allowCopy',
          'disabled',
          'dateCreated',
          'dateModified',
        ),
        filterable: true,
        items: (s) => s.forms,
      },
      {
        name: 'intervals',
        defaultSort: 'intervalId',
        fields: set(
          'studyKey',
          'intervalId',
          'intervalName',
          'intervalDescription',
          'intervalSequence',
          'intervalGroupId',
          'intervalGroupName',
          'timeline',
          'definedUsingInterval',
          'windowCalculationForm',
          'windowCalculationDate',
          'actualDateForm',
          'actualDate',
          'dueDateWillBeIn',
          'negativeSlack',
          'positiveSlack',
          'eproGracePeriod',
          'disabled',
          'dateCreated',
          'dateModified',
        ),
        filterable: true,
        items: (s) => s.intervals,
      },
      {
        name: 'visits',
        defaultSort: 'visitId',
        fields: set(
          'studyKey',
          'visitId',
          'intervalId',
          'intervalName',
          'subjectId',
          'subjectKey',
          'startDate',
          'endDate',
          'dueDate',
          'visitDate',
          'visitDateForm',
          'visitDateQuestion',
          'deleted',
          'dateCreated',
          'dateModified',
        ),
        filterable: true,
        items: (s) => s.visits,
      },
      {
        name: 'subjects',
        defaultSort: 'subjectId',
        fields: set(
          'studyKey',
          'subjectId',
          'subjectOid',
          'subjectKey',
          'subjectStatus',
          'siteId',
          'siteName',
          'deleted',
          'enrollmentStartDate',
          'dateCreated',
          'dateModified',
        ),
        filterable: true,
        items: (s) => s.subjects,
      },
      {
        name: 'users',
        defaultSort: 'login',
        fields: set('userId', 'login', 'firstName', 'lastName', 'email', 'userActiveInStudy'),
        filterable: false,
        items: (s, includeInactive) =>
          includeInactive ? s.users : s.users.filter((u) => u.userActiveInStudy),
      },
      {
        name: 'variables',
        defaultSort: 'variableId',
        fields: set(
          'studyKey',
          'variableId',
          'variableType',
          'variableName',
          'sequence',
          'revision',
          'disabled',
          'dateCreated',
          'dateModified',
          'formId',
          'variableOid',
          'deleted',
          'formKey',
          'formName',
          'label',
          'blinded',
        ),
        filterable: true,
        items: (s) => s.variables,
      },
      {
        name: 'codings',
        defaultSort: 'recordId',
        fields: set(
          'studyKey',
          'siteName',
          'siteId',
          'subjectId',
          'subjectKey',
          'formId',
          'formName',
          'formKey',
          'revision',
          'recordId',
          'variable',
          'value',
          'codingId',
          'code',
          'codedBy',
          'reason',
          'dictionaryName',
          'dictionaryVersion',
          'dateCoded',
        ),
        filterable: true,
        items: (s) => s.codings,
      },
      {
        name: 'queries',
        defaultSort: 'annotationId',
        fields: set(
          'studyKey',
          'subjectId',
          'subjectOid',
          'annotationType',
          'annotationId',
          'type',
          'description',
          'recordId',
          'variable',
          'subjectKey',
          'dateCreated',
          'dateModified',
        ),
        filterable: true,
        items: (s) => s.queries,
      },
      {
        name: 'recordRevisions',
        defaultSort: 'recordRevisionId',
        fields: set(
          'studyKey',
          'recordRevisionId',
          'recordId',
          'recordOid',
          'recordRevision',
          'dataRevision',
          'recordStatus',
          'subjectId',
          'subjectOid',
          'subjectKey',
          'siteId',
          'formKey',
          'intervalId',
          'role',
          'user',
          'reasonForChange',
          'deleted',
          'dateCreated',
        ),
        filterable: true,
        items: (s) => s.recordRevisions,
        candidates: (s, filter) => {
          const since = dateLowerBound(filter, ['dateCreated']);
          return since === undefined ? undefined : s.recordRevisions.touchedSince(since);
        },
      },
      {
        name: 'records',
        defaultSort: 'recordId',
        fields: set(
          'studyKey',
          'intervalId',
          'formId',
          'formKey',
          'siteId',
          'recordId',
          'recordOid',
          'recordType',
          'recordStatus',
          'deleted',
          'dateCreated',
          'dateModified',
          'subjectId',
          'subjectOid',
          'subjectKey',
          'visitId',
          'parentRecordId',
        ),
        filterable: true,
        items: (s) => s.records,
        probe: (s, position) => s.records.headerAt(position),
        candidates: (s, filter) => {
          const since = dateLowerBound(filter, ['dateCreated', 'dateModified']);
          return since === undefined ? undefined : s.records.touchedSince(since);
        },
      },
    ] satisfies ResourceSpec[]
  ).map((spec) => [spec.name, spec]),
);
