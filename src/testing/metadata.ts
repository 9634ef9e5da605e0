// The small, eagerly built parts of a fake study: everything except records, revisions and visits.

import {
  AE_TERMS,
  CM_TERMS,
  FIRST_NAMES,
  FORMS,
  INTERVALS,
  LAST_NAMES,
  ROLES,
  SITE_CITIES,
  WORDS,
} from './catalog.js';
import { createRandom, hash32, SeededRandom } from './random.js';
import type { GeneratorForm, GeneratorInterval, RecordGenerator } from './records.js';
import { randomKeyword } from './records.js';
import { DAY, formatTimestamp, MINUTE, parseTimestamp, toDateParts } from './time.js';
import type {
  ApiCoding,
  ApiForm,
  ApiInterval,
  ApiQuery,
  ApiQueryComment,
  ApiSite,
  ApiStudy,
  ApiSubject,
  ApiUser,
  ApiVariable,
} from './types.js';

const HOUR = 60 * MINUTE;

/** The study row itself. */
export function buildStudy(studyKey: string, seed: number, startMs: number): ApiStudy {
  const r = createRandom(seed, 1);
  return {
    sponsorKey: String(100 + r.int(0, 899)),
    studyKey,
    studyId: 1000 + r.int(0, 8999),
    studyName: `${studyKey} Fake Study`,
    studyDescription: `Seeded fake study (seed ${seed}) for testing iMednet clients`,
    studyType: 'STUDY',
    dateCreated: formatTimestamp(startMs - 60 * DAY),
    dateModified: formatTimestamp(startMs - 60 * DAY + r.int(1, 50) * DAY),
  };
}

/** Sites, named after cities in an order that depends on the seed. */
export function buildSites(studyKey: string, seed: number, count: number, startMs: number): ApiSite[] {
  const r = createRandom(seed, 2);
  const offset = r.int(0, SITE_CITIES.length - 1);
  const statuses = ['Enrollment Open', 'Enrollment Open', 'Enrollment Open', 'Enrollment Closed', 'Pending'];
  const sites: ApiSite[] = [];
  for (let k = 0; k < count; k++) {
    const city = SITE_CITIES[(offset + k) % SITE_CITIES.length] as string;
    const round = Math.floor(k / SITE_CITIES.length);
    const created = startMs - 30 * DAY + k * HOUR;
    sites.push({
      studyKey,
      siteId: 101 + k,
      siteName: `${city} ${r.pick(['Research Center', 'General Hospital', 'Clinic'])}${round > 0 ? ` ${round + 1}` : ''}`,
      siteEnrollmentStatus: r.pick(statuses),
      dateCreated: formatTimestamp(created),
      dateModified: formatTimestamp(created + r.int(0, 90) * DAY),
    });
  }
  return sites;
}

/** Forms with their design and variables, in catalogue order. */
export function buildForms(studyKey: string, seed: number, startMs: number): GeneratorForm[] {
  const r = createRandom(seed, 3);
  return FORMS.map((bp, k) => {
    const created = startMs - 40 * DAY + k * HOUR;
    const form: ApiForm = {
      studyKey,
      formId: 1001 + k,
      formKey: bp.key,
      formName: bp.name,
      formType: bp.type,
      revision: r.int(1, 4),
      embeddedLog: bp.log === true,
      enforceOwnership: r.chance(0.3),
      userAgreement: bp.key === 'REG',
      subjectRecordReport: bp.key === 'DM',
      unscheduledVisit: bp.log === true,
      otherForms: bp.log === true,
      eproForm: bp.epro === true,
      allowCopy: bp.key !== 'REG',
      disabled: bp.retired === true,
      dateCreated: formatTimestamp(created),
      dateModified: formatTimestamp(created + r.int(0, 20) * DAY),
    };
    return { form, blueprint: bp, variables: bp.variables.filter((v) => !v.retired) };
  });
}

/** Variables of every form, numbered across the study. */
export function buildVariables(
  studyKey: string,
  seed: number,
  forms: readonly GeneratorForm[],
): ApiVariable[] {
  const r = createRandom(seed, 4);
  const variables: ApiVariable[] = [];
  for (const { form, blueprint } of forms) {
    blueprint.variables.forEach((v, index) => {
      const id = 5001 + variables.length;
      variables.push({
        studyKey,
        variableId: id,
        variableType: v.type,
        variableName: v.name,
        sequence: index + 1,
        revision: r.int(1, 3),
        disabled: v.retired === true,
        dateCreated: form.dateCreated,
        dateModified: form.dateModified,
        formId: form.formId,
        variableOid: `VAR-${v.name.toUpperCase()}`,
        deleted: v.retired === true,
        formKey: form.formKey,
        formName: form.formName,
        label: v.label,
        blinded: v.blinded === true,
      });
    });
  }
  return variables;
}

/** All intervals, and separately the active ones records can fall in. */
export function buildIntervals(
  studyKey: string,
  forms: readonly GeneratorForm[],
  startMs: number,
): { intervals: ApiInterval[]; active: GeneratorInterval[] } {
  const byKey = new Map(forms.map((f) => [f.form.formKey, f]));
  const groups = [...new Set(INTERVALS.map((i) => i.group))];
  const intervals: ApiInterval[] = [];
  const active: GeneratorInterval[] = [];
  INTERVALS.forEach((bp, k) => {
    const scheduled = bp.forms
      .map((key) => byKey.get(key))
      .filter((f): f is GeneratorForm => f !== undefined);
    const first = scheduled[0];
    const dateVar = first?.variables.find((v) => v.type === 'DATE');
    const created = startMs - 35 * DAY + k * HOUR;
    const interval: ApiInterval = {
      studyKey,
      intervalId: 201 + k,
      intervalName: bp.name,
      intervalDescription: bp.description,
      intervalSequence: bp.sequence,
      intervalGroupId: 11 + groups.indexOf(bp.group),
      intervalGroupName: bp.group,
      timeline: bp.timeline,
      definedUsingInterval: k === 0 ? '' : 'Registration',
      windowCalculationForm: k === 0 ? '' : 'Registration',
      windowCalculationDate: k === 0 ? '' : 'regdt',
      actualDateForm: first?.form.formName ?? '',
      actualDate: dateVar?.name ?? '',
      dueDateWillBeIn: bp.dueDays,
      negativeSlack: bp.slack,
      positiveSlack: bp.slack,
      eproGracePeriod: bp.group === 'Treatment' ? 2 : 0,
      forms: scheduled.map(({ form }) => ({
        formId: form.formId,
        formKey: form.formKey,
        formName: form.formName,
      })),
      disabled: bp.retired === true,
      dateCreated: formatTimestamp(created),
      dateModified: formatTimestamp(created + 3 * DAY),
    };
    intervals.push(interval);
    if (!bp.retired) active.push({ interval, blueprint: bp, forms: scheduled });
  });
  return { intervals, active };
}

/** Users sorted by login (the API's default order); some inactive, each with 1 to 3 roles. */
export function buildUsers(seed: number, count: number, startMs: number): ApiUser[] {
  const r = createRandom(seed, 5);
  const users: ApiUser[] = [];
  for (let k = 0; k < count; k++) {
    const firstName = r.pick(FIRST_NAMES);
    const lastName = r.pick(LAST_NAMES);
    const login = `${firstName.charAt(0)}${lastName}${k + 1}`.toLowerCase();
    const roles = [];
    for (let n = r.int(1, 3); n > 0; n--) {
      const created = startMs - r.int(1, 60) * DAY + r.int(0, 86_399) * 1000 + r.int(0, 999);
      const name = r.pick(ROLES);
      roles.push({
        dateCreated: toDateParts(created),
        dateModified: toDateParts(created + r.int(0, 30) * DAY),
        roleId: r.uuid(),
        communityId: r.int(1, 5),
        name,
        description: `${name} for the study`,
        level: r.int(1, 5),
        type: r.pick(['Study Role', 'Site Role']),
        inactive: r.chance(0.1),
      });
    }
    users.push({
      userId: r.uuid(),
      login,
      firstName,
      lastName,
      email: `${login}@example.org`,
      userActiveInStudy: k === 0 || !r.chance(0.25),
      roles,
    });
  }
  return users.sort((a, b) => (a.login < b.login ? -1 : a.login > b.login ? 1 : 0));
}

/** Subjects, dated by their registration record so the two agree. */
export function buildSubjects(
  studyKey: string,
  seed: number,
  count: number,
  sites: readonly ApiSite[],
  gen: RecordGenerator,
): ApiSubject[] {
  if (count > 0 && sites.length === 0) throw new RangeError('A study with subjects needs at least one site');
  const r = createRandom(seed, 6);
  const perSite = new Array<number>(sites.length).fill(0);
  const subjects: ApiSubject[] = [];
  const statuses = ['Enrolled', 'Screening', 'Completed', 'Withdrawn', 'Screen Failed'];
  for (let j = 0; j < count; j++) {
    const siteIndex = r.int(0, sites.length - 1);
    const site = sites[siteIndex] as ApiSite;
    perSite[siteIndex] = (perSite[siteIndex] as number) + 1;
    subjects.push(
      newSubject(studyKey, r, j + 1, siteIndex, perSite[siteIndex] as number, site, gen.enrolledAt(j)),
    );
    const subject = subjects[j] as ApiSubject;
    subject.subjectStatus = statuses[r.weighted([60, 10, 20, 5, 5])] as string;
    subject.deleted = r.chance(0.02);
    for (let n = r.weighted([70, 20, 10]); n > 0; n--)
      subject.keywords.push(randomKeyword(r, subject.dateCreated));
  }
  return subjects;
}

/** One subject; shared by the generator and by registrations at run time. */
export function newSubject(
  studyKey: string,
  r: SeededRandom,
  subjectId: number,
  siteIndex: number,
  siteSequence: number,
  site: ApiSite,
  enrolledMs: number,
): ApiSubject {
  return {
    studyKey,
    subjectId,
    subjectOid: `OID-${subjectId}`,
    subjectKey: `${String(siteIndex + 1).padStart(2, '0')}-${String(siteSequence).padStart(3, '0')}`,
    subjectStatus: 'Enrolled',
    siteId: site.siteId,
    siteName: site.siteName,
    deleted: false,
    enrollmentStartDate: formatTimestamp(enrolledMs),
    dateCreated: formatTimestamp(enrolledMs),
    dateModified: formatTimestamp(enrolledMs + r.int(0, 30) * DAY),
    keywords: [],
  };
}

/** Queries on generated records, each with a short comment history. */
export function buildQueries(
  studyKey: string,
  seed: number,
  count: number,
  gen: RecordGenerator,
  forms: readonly GeneratorForm[],
  logins: readonly string[],
  endMs: number,
): ApiQuery[] {
  const n = gen.ctx.recordCount;
  if (n === 0) return [];
  const variablesByForm = new Map(forms.map((f) => [f.form.formKey, f.variables]));
  const queries: ApiQuery[] = [];
  for (let q = 0; q < count; q++) {
    const r = new SeededRandom(hash32(seed ^ 0x9e77, q));
    const record = gen.header(r.int(0, n - 1));
    const names = (variablesByForm.get(record.formKey) ?? []).map((v) => v.name);
    const variable = names.length > 0 ? r.pick(names) : 'unknown';
    const annotationType = r.pick(['subject', 'record', 'question', 'question']);
    const opened = Math.min(endMs, parseTimestamp(record.dateModified) + r.int(1, 480) * HOUR);
    const comments: ApiQueryComment[] = [];
    const steps = r.int(1, 4);
    const closes = r.chance(0.5);
    let at = opened;
    for (let s = 1; s <= steps; s++) {
      const last = s === steps;
      const closed = last && closes;
      comments.push({
        sequence: s,
        annotationStatus: closed ? 'Query Closed' : s === 1 ? 'Query Open' : 'Query Answered',
        user: logins.length > 0 ? r.pick(logins) : 'system',
        comment: s === 1 ? `Please verify ${variable}` : closed ? 'Resolved' : `Confirmed ${r.pick(WORDS)}`,
        closed,
        date: formatTimestamp(at),
      });
      at = Math.min(endMs, at + r.int(1, 96) * HOUR);
    }
    queries.push({
      studyKey,
      subjectId: record.subjectId,
      subjectOid: record.subjectOid,
      annotationType,
      annotationId: q + 1,
      type: r.chance(0.3) ? null : annotationType,
      description: r.pick(['Monitor Query', 'Data Manager Query', 'Auto Query', 'Please verify value']),
      recordId: record.recordId,
      variable,
      subjectKey: record.subjectKey,
      dateCreated: formatTimestamp(opened),
      dateModified: (comments[comments.length - 1] as ApiQueryComment).date,
      queryComments: comments,
    });
  }
  return queries;
}

/** Dictionary codings of adverse-event and medication records, sorted by record. */
export function buildCodings(
  studyKey: string,
  seed: number,
  count: number,
  gen: RecordGenerator,
  forms: readonly GeneratorForm[],
  sites: readonly ApiSite[],
  coders: readonly string[],
  endMs: number,
): ApiCoding[] {
  const n = gen.ctx.recordCount;
  if (n === 0) return [];
  const siteName = new Map(sites.map((s) => [s.siteId, s.siteName]));
  const formById = new Map(forms.map((f) => [f.form.formId, f.form]));
  const dictionary = new Map([...AE_TERMS, ...CM_TERMS]);
  const r = createRandom(seed, 8);
  const codings: Omit<ApiCoding, 'codingId'>[] = [];
  for (let c = 0; c < count; c++) {
    let i = r.int(0, n - 1);
    let found = -1;
    for (let attempt = 0; attempt < 64; attempt++, i = (i + 1) % n) {
      const key = gen.header(i).formKey;
      if (key === 'AE' || key === 'CM') {
        found = i;
        break;
      }
    }
    if (found < 0) continue;
    const record = gen.record(found);
    const isAe = record.formKey === 'AE';
    const variable = isAe ? 'aeterm' : 'cmtrt';
    const raw = record.recordData[variable];
    const value = typeof raw === 'string' && raw !== '' ? raw : r.pick(isAe ? AE_TERMS : CM_TERMS)[0];
    const form = formById.get(record.formId) as ApiForm;
    codings.push({
      studyKey,
      siteName: siteName.get(record.siteId) ?? '',
      siteId: record.siteId,
      subjectId: record.subjectId,
      subjectKey: record.subjectKey,
      formId: record.formId,
      formName: form.formName,
      formKey: record.formKey,
      revision: r.int(1, 3),
      recordId: record.recordId,
      variable,
      value,
      code: dictionary.get(value) ?? value.toUpperCase(),
      codedBy: coders.length > 0 ? r.pick(coders) : 'System Coder',
      reason: r.pick(['Initial coding', 'Typo fix', 'Recoded after query', 'Dictionary upgrade']),
      dictionaryName: isAe ? 'MedDRA' : 'WHODrug',
      dictionaryVersion: isAe ? '26.0' : 'GLOBALB3Mar24',
      dateCoded: formatTimestamp(Math.min(endMs, parseTimestamp(record.dateModified) + DAY)),
    });
  }
  codings.sort((a, b) => a.recordId - b.recordId);
  return codings.map((coding, k) => ({ ...coding, codingId: k + 1 }));
}
