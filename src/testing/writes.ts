// `POST /records`: checking each item up front (the API answers 400 on the first problem) and,
// once a job completes, applying the items to the study.

import { ApiError } from './envelope.js';
import type { FakeStudy } from './study.js';
import type { ApiForm, ApiRecordData } from './types.js';

/** A validated POST item, resolved to the study's own ids. */
export type PlannedWrite =
  | { kind: 'register'; formId: number; siteId: number; data: ApiRecordData }
  | { kind: 'update'; recordId: number; data: ApiRecordData }
  | { kind: 'scheduled'; formId: number; subjectId: number; intervalId: number; data: ApiRecordData }
  | { kind: 'create'; formId: number; subjectId: number; data: ApiRecordData };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const present = (item: Record<string, unknown>, key: string) => item[key] !== undefined && item[key] !== null;

/** Validates a POST body against the study; throws a 400 {@link ApiError} on the first problem. */
export function planWrites(body: unknown, study: FakeStudy): PlannedWrite[] {
  if (!Array.isArray(body)) throw new ApiError(400, 'Request body must be an array of records');
  if (body.length === 0) throw new ApiError(400, 'Request body must contain at least one record');
  return body.map((item, index) => planOne(item, index, study));
}

function planOne(item: unknown, index: number, study: FakeStudy): PlannedWrite {
  const bad = (message: string, field: string): never => {
    throw new ApiError(400, `Record ${index}: ${message}`, field);
  };
  if (!isObject(item)) return bad('must be an object', 'data');
  const form = resolveForm(item, study, bad);
  const data = item.data;
  if (!isObject(data) || Object.keys(data).length === 0)
    return bad('data must be a non-empty object', 'data');

  if (present(item, 'siteName') || present(item, 'siteId')) {
    if (present(item, 'subjectKey')) return bad('a registration must not carry subjectKey', 'subjectKey');
    const site = present(item, 'siteId')
      ? study.sites.find((s) => s.siteId === item.siteId)
      : study.sites.find((s) => s.siteName === item.siteName);
    if (!site) return bad('unknown site', present(item, 'siteId') ? 'siteId' : 'siteName');
    return { kind: 'register', formId: form.formId, siteId: site.siteId, data };
  }

  let subject: FakeStudy['subjects'][number] | undefined;
  if (present(item, 'subjectKey')) subject = study.subjects.find((s) => s.subjectKey === item.subjectKey);
  else if (present(item, 'subjectId')) subject = study.subjects.find((s) => s.subjectId === item.subjectId);
  else if (present(item, 'subjectOid'))
    subject = study.subjects.find((s) => s.subjectOid === item.subjectOid);
  else
    return bad(
      'subjectKey, subjectId or subjectOid is required (or siteName for a registration)',
      'subjectKey',
    );
  if (!subject) return bad('unknown subject', 'subjectKey');

  if (present(item, 'recordId') || present(item, 'recordOid')) {
    const record = present(item, 'recordId')
      ? study.getRecord(Number(item.recordId))
      : study.findRecord((h) => h.recordOid === item.recordOid);
    if (!record || record.subjectId !== subject.subjectId) {
      return bad('unknown record for this subject', present(item, 'recordId') ? 'recordId' : 'recordOid');
    }
    return { kind: 'update', recordId: record.recordId, data };
  }

  if (present(item, 'intervalName') || present(item, 'intervalId')) {
    const interval = study.intervals.find((i) =>
      present(item, 'intervalId') ? i.intervalId === item.intervalId : i.intervalName === item.intervalName,
    );
    if (!interval || interval.disabled) {
      return bad('unknown interval', present(item, 'intervalId') ? 'intervalId' : 'intervalName');
    }
    return {
      kind: 'scheduled',
      formId: form.formId,
      subjectId: subject.subjectId,
      intervalId: interval.intervalId,
      data,
    };
  }
  return { kind: 'create', formId: form.formId, subjectId: subject.subjectId, data };
}

function resolveForm(
  item: Record<string, unknown>,
  study: FakeStudy,
  bad: (message: string, field: string) => never,
): ApiForm {
  if (present(item, 'formKey')) {
    if (typeof item.formKey !== 'string') return bad('formKey must be a string', 'formKey');
    const form = study.forms.find((f) => f.formKey === item.formKey);
    if (!form || form.disabled) return bad(`unknown form '${item.formKey}'`, 'formKey');
    return form;
  }
  if (present(item, 'formId')) {
    const form = study.forms.find((f) => f.formId === item.formId);
    if (!form || form.disabled) return bad(`unknown form id ${String(item.formId)}`, 'formId');
    return form;
  }
  return bad('formKey or formId is required', 'formKey');
}

/** Applies validated writes to the study, in order. */
export function applyWrites(study: FakeStudy, writes: readonly PlannedWrite[]): void {
  for (const write of writes) {
    switch (write.kind) {
      case 'register': {
        const subject = study.registerSubject({ siteId: write.siteId });
        study.addRecord({ formId: write.formId, subjectId: subject.subjectId, recordData: write.data });
        break;
      }
      case 'update':
        study.updateRecord(write.recordId, { recordData: write.data });
        break;
      case 'scheduled': {
        const existing = study.findRecord(
          (h) =>
            !h.deleted &&
            h.subjectId === write.subjectId &&
            h.formId === write.formId &&
            h.intervalId === write.intervalId,
        );
        if (existing) study.updateRecord(existing.recordId, { recordData: write.data });
        else
          study.addRecord({
            formId: write.formId,
            subjectId: write.subjectId,
            intervalId: write.intervalId,
            recordData: write.data,
          });
        break;
      }
      case 'create':
        study.addRecord({ formId: write.formId, subjectId: write.subjectId, recordData: write.data });
        break;
    }
  }
}
