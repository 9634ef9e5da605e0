/**
 * One subject as a tree: Subject → Visit → Form → rows. Built from {@link subjectData} (four
 * requests at once) and the study structure, with each record mapped to a row exactly as the
 * record mapper maps it, so a subject view and an export agree on every value.
 */
import type { Imednet } from '../../client.js';
import type { Query } from '../../endpoints/queries.js';
import type { Subject } from '../../endpoints/subjects.js';
import type { Visit } from '../../endpoints/visits.js';
import { type MapOptions, mapRecords } from './mapper.js';
import type { StudyStructure } from './structure.js';
import { subjectData } from './subject.js';
import type { Row } from './tables.js';

/** A form's records within a visit (or outside any visit), as rows. */
export interface SubjectTreeForm {
  formKey: string;
  /** The form's name, when the structure has the form. */
  formName: string | undefined;
  /** The form's records as rows, in recordId order. */
  rows: Row[];
}

/** A visit with its forms. */
export interface SubjectTreeVisit {
  visit: Visit;
  /** The name of the visit's interval, when the structure has it. */
  intervalName: string | undefined;
  /** Forms with records in this visit, in the interval's form order, then any others by key. */
  forms: SubjectTreeForm[];
}

/** A subject with its visits, their forms and records, and its queries. */
export interface SubjectTree {
  subject: Subject;
  /** Visits in interval order (then by visit date, then id). */
  visits: SubjectTreeVisit[];
  /** Records that belong to no visit of the subject (subject-level and unscheduled forms). */
  outsideVisits: SubjectTreeForm[];
  /** The subject's queries, as the API lists them. */
  queries: Query[];
}

/** Options of `client.workflows.subjectTree`: how rows are mapped, and a signal. */
export type SubjectTreeOptions = Omit<MapOptions, 'batchSize' | 'layout' | 'forms' | 'variables'> & {
  signal?: AbortSignal;
};

/** Builds a subject's tree from its data and the study structure. */
export async function subjectTree(
  client: Imednet,
  structure: StudyStructure,
  subjectKey: string,
  options: SubjectTreeOptions = {},
): Promise<SubjectTree> {
  const data = await subjectData(
    client,
    structure.studyKey,
    subjectKey,
    options.signal ? { signal: options.signal } : {},
  );
  const records = [...data.records].sort((a, b) => a.recordId - b.recordId);
  const rows = new Map<number, Row>();
  for await (const batch of mapRecords(records, structure, { ...options, batchSize: 10_000 })) {
    for (const row of batch.rows) rows.set(row.recordId as number, row);
  }
  const formsOf = (recordsHere: typeof records, order: readonly string[]): SubjectTreeForm[] => {
    const byForm = new Map<string, Row[]>();
    for (const record of recordsHere) {
      const row = rows.get(record.recordId);
      // A record the options left out (an unknown form with `unknown: 'ignore'`) has no row.
      if (!row) continue;
      const list = byForm.get(record.formKey);
      if (list) list.push(row);
      else byForm.set(record.formKey, [row]);
    }
    const rank = (key: string) => {
      const at = order.indexOf(key);
      return at < 0 ? order.length : at;
    };
    return [...byForm.keys()]
      .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
      .map((formKey) => ({
        formKey,
        formName: structure.form(formKey)?.form.formName,
        rows: byForm.get(formKey)!,
      }));
  };

  const visitIds = new Set(data.visits.map((v) => v.visitId));
  const sequence = (visit: Visit) =>
    structure.interval(visit.intervalId)?.interval.intervalSequence ?? Number.POSITIVE_INFINITY;
  const visits = [...data.visits]
    .sort(
      (a, b) =>
        sequence(a) - sequence(b) ||
        (a.visitDate ?? '').localeCompare(b.visitDate ?? '') ||
        a.visitId - b.visitId,
    )
    .map((visit) => {
      const interval = structure.interval(visit.intervalId);
      return {
        visit,
        intervalName: interval?.interval.intervalName,
        forms: formsOf(
          records.filter((r) => r.visitId === visit.visitId),
          interval?.forms.map((f) => f.form.formKey) ?? [],
        ),
      };
    });
  const outside = records.filter((r) => r.visitId == null || !visitIds.has(r.visitId));
  return {
    subject: data.subject,
    visits,
    outsideVisits: formsOf(
      outside,
      structure.forms.map((f) => f.form.formKey),
    ),
    queries: data.queries,
  };
}
