// A fake study: small metadata built eagerly, records/revisions/visits generated on demand, and
// mutations kept in small override maps on top of the generated base.

import {
  buildCodings,
  buildForms,
  buildIntervals,
  buildQueries,
  buildSites,
  buildStudy,
  buildSubjects,
  buildUsers,
  buildVariables,
  newSubject,
} from './metadata.js';
import { hash32, SeededRandom } from './random.js';
import { type GeneratorForm, type GeneratorInterval, RecordGenerator, type ValueStyle } from './records.js';
import { DAY, formatTimestamp, toEpochMs } from './time.js';
import type {
  ApiCoding,
  ApiForm,
  ApiInterval,
  ApiQuery,
  ApiRecord,
  ApiRecordData,
  ApiRecordHeader,
  ApiRecordRevision,
  ApiSite,
  ApiStudy,
  ApiSubject,
  ApiUser,
  ApiVariable,
  ApiVisit,
  LazyList,
} from './types.js';

/** Options of {@link createFakeStudy}. */
export interface FakeStudyOptions {
  /** Study key (default 'DEMO'). */
  studyKey?: string;
  /** Seed: the same options and seed always give the same study (default 1). */
  seed?: number;
  /** Number of sites (default 5). */
  sites?: number;
  /** Number of subjects (default 50). */
  subjects?: number;
  /** Number of records; generated lazily, so millions are fine (default 1000). */
  records?: number;
  /** Number of queries (default records/20, at most 2000). */
  queries?: number;
  /** Number of codings (default records/50, at most 1000). */
  codings?: number;
  /** Number of users (default 8). */
  users?: number;
  /**
   * 'strings' (default) serves every record value as a string like the live API ('72.5', '1', '');
   * 'typed' serves numbers as numbers, checkboxes as booleans and blanks as null.
   */
  valueStyle?: ValueStyle;
  /** Initial value of the study clock (default one day after the last generated change). */
  now?: Date | string | number;
}

/** Item counts of a study as it stands now. */
export interface StudyCounts {
  sites: number;
  forms: number;
  variables: number;
  intervals: number;
  subjects: number;
  visits: number;
  users: number;
  queries: number;
  codings: number;
  records: number;
  recordRevisions: number;
}

/** The records of a study, in recordId order, hard-deleted ones left out. */
export interface RecordList extends LazyList<ApiRecord> {
  /** The record at `position` without its values: cheap enough to scan a million of. */
  headerAt(position: number): ApiRecordHeader | undefined;
  /** Every live record without values, in recordId order. */
  headers(): Iterable<ApiRecordHeader>;
  /**
   * Positions, ascending, of every record whose dateCreated or dateModified may be at or after
   * `ms`: a superset that spares a date-filtered listing from reading the whole study.
   */
  touchedSince(ms: number): Iterable<number>;
}

/** The record revisions of a study, in recordRevisionId order. */
export interface RevisionList extends LazyList<ApiRecordRevision> {
  /** Positions, ascending, of every revision whose dateCreated may be at or after `ms` (a superset). */
  touchedSince(ms: number): Iterable<number>;
}

/** Changes to a record; `recordData` is merged into the current values. */
export type RecordPatch = Partial<Omit<ApiRecord, 'recordId' | 'studyKey' | 'recordData'>> & {
  recordData?: ApiRecordData;
};

/** A record to add: a form (key or id) and a subject (id, key or OID) are required. */
export type NewRecord = Partial<Omit<ApiRecord, 'recordId' | 'studyKey'>> & { intervalName?: string };

/** A seeded, lazily generated iMednet study that can also be changed. */
export interface FakeStudy {
  readonly studyKey: string;
  readonly seed: number;
  readonly valueStyle: ValueStyle;
  readonly study: ApiStudy;
  readonly sites: readonly ApiSite[];
  readonly forms: readonly ApiForm[];
  readonly variables: readonly ApiVariable[];
  readonly intervals: readonly ApiInterval[];
  readonly subjects: readonly ApiSubject[];
  readonly users: readonly ApiUser[];
  readonly queries: readonly ApiQuery[];
  readonly codings: readonly ApiCoding[];
  readonly visits: LazyList<ApiVisit>;
  readonly records: RecordList;
  readonly recordRevisions: RevisionList;
  /** Current item counts. */
  readonly counts: StudyCounts;
  /** Bumped by every change, so derived caches know when to drop. */
  readonly version: number;
  /** The record with this id, or undefined when it never existed or was hard-deleted. */
  getRecord(recordId: number): ApiRecord | undefined;
  /** The first live record (in recordId order) whose header satisfies the predicate. */
  findRecord(predicate: (header: ApiRecordHeader) => boolean): ApiRecord | undefined;
  /** The study clock as an API timestamp. */
  now(): string;
  /** Sets the study clock that changes are stamped with. */
  setNow(date: Date | string | number): void;
  /** Changes a record: stamps dateModified with now() and adds a revision. Throws if absent. */
  updateRecord(recordId: number, patch: RecordPatch): ApiRecord;
  /** Adds a record (with revision 1) stamped with now(). Throws on an unknown form or subject. */
  addRecord(input: NewRecord): ApiRecord;
  /** Soft-deletes (deleted: true) or hard-deletes (gone from listings) a record; false if absent. */
  deleteRecord(recordId: number, options?: { hard?: boolean }): boolean;
  /** Registers a new subject at a site, with its visits; throws on an unknown site. */
  registerSubject(input: { siteId?: number; siteName?: string }): ApiSubject;
}

const START_MS = Date.UTC(2023, 0, 9, 8, 0, 0);
const SPAN_MS = 720 * DAY;
const API_USER = { login: 'api.integration', role: 'API User' };

function count(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return n;
}

class Study implements FakeStudy {
  readonly studyKey: string;
  readonly seed: number;
  readonly valueStyle: ValueStyle;
  readonly study: ApiStudy;
  readonly sites: ApiSite[];
  readonly forms: ApiForm[];
  readonly variables: ApiVariable[];
  readonly intervals: ApiInterval[];
  readonly subjects: ApiSubject[];
  readonly users: ApiUser[];
  readonly queries: ApiQuery[];
  readonly codings: ApiCoding[];
  readonly visits: LazyList<ApiVisit>;
  readonly records: RecordList;
  readonly recordRevisions: RevisionList;
  version = 0;

  private readonly gen: RecordGenerator;
  private readonly baseRecords: number;
  private readonly baseSubjects: number;
  private readonly genForms: GeneratorForm[];
  private readonly active: GeneratorInterval[];
  private readonly overrides = new Map<number, ApiRecord>();
  private readonly added = new Map<number, ApiRecord>();
  private readonly addedIds: number[] = [];
  private readonly hidden = new Set<number>();
  private readonly hiddenBase: number[] = [];
  private readonly revisionsAdded: ApiRecordRevision[] = [];
  private readonly revisionState = new Map<number, { recordRevision: number; dataRevision: number }>();
  private readonly visitsAdded: ApiVisit[] = [];
  private readonly firstVisitOf = new Map<number, number>();
  private nextRecordId: number;
  private nowMs: number;

  constructor(options: FakeStudyOptions) {
    const studyKey = options.studyKey ?? 'DEMO';
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw new RangeError('seed must be an integer');
    const siteCount = count(options.sites, 5, 'sites');
    const subjectCount = count(options.subjects, 50, 'subjects');
    const recordCount = subjectCount === 0 ? 0 : count(options.records, 1000, 'records');
    this.studyKey = studyKey;
    this.seed = seed;
    this.valueStyle = options.valueStyle ?? 'strings';
    this.baseRecords = recordCount;
    this.baseSubjects = subjectCount;
    this.nextRecordId = recordCount + 1;
    this.nowMs = options.now === undefined ? START_MS + SPAN_MS + DAY : toEpochMs(options.now);

    this.study = buildStudy(studyKey, seed, START_MS);
    this.sites = buildSites(studyKey, seed, siteCount, START_MS);
    this.genForms = buildForms(studyKey, seed, START_MS);
    this.forms = this.genForms.map((f) => f.form);
    this.variables = buildVariables(studyKey, seed, this.genForms);
    const { intervals, active } = buildIntervals(studyKey, this.genForms, START_MS);
    this.intervals = intervals;
    this.active = active;
    this.users = buildUsers(seed, count(options.users, 8, 'users'), START_MS);
    const staff = this.users.map((u) => ({
      login: u.login,
      role: u.roles[0]?.name ?? 'Research Coordinator',
    }));
    this.gen = new RecordGenerator({
      seed,
      studyKey,
      recordCount,
      subjectCount,
      startMs: START_MS,
      spanMs: SPAN_MS,
      valueStyle: this.valueStyle,
      intervals: active,
      staff: staff.length > 0 ? staff : [API_USER],
    });
    this.subjects = buildSubjects(studyKey, seed, subjectCount, this.sites, this.gen);
    this.gen.subjects = this.subjects;
    const end = START_MS + SPAN_MS;
    const logins = this.users.map((u) => u.login);
    const coders = this.users.map((u) => `${u.firstName} ${u.lastName}`);
    const queryCount = count(options.queries, Math.min(Math.ceil(recordCount / 20), 2000), 'queries');
    const codingCount = count(options.codings, Math.min(Math.ceil(recordCount / 50), 1000), 'codings');
    this.queries = buildQueries(studyKey, seed, queryCount, this.gen, this.genForms, logins, end);
    this.codings = buildCodings(
      studyKey,
      seed,
      codingCount,
      this.gen,
      this.genForms,
      this.sites,
      coders,
      end,
    );

    this.records = this.recordList();
    this.recordRevisions = this.revisionList();
    this.visits = this.visitList();
  }

  get counts(): StudyCounts {
    return {
      sites: this.sites.length,
      forms: this.forms.length,
      variables: this.variables.length,
      intervals: this.intervals.length,
      subjects: this.subjects.length,
      visits: this.visits.length,
      users: this.users.length,
      queries: this.queries.length,
      codings: this.codings.length,
      records: this.records.length,
      recordRevisions: this.recordRevisions.length,
    };
  }

  now(): string {
    return formatTimestamp(this.nowMs);
  }

  setNow(date: Date | string | number): void {
    this.nowMs = toEpochMs(date);
  }

  getRecord(recordId: number): ApiRecord | undefined {
    if (!Number.isInteger(recordId) || recordId < 1 || this.hidden.has(recordId)) return undefined;
    const changed = this.overrides.get(recordId) ?? this.added.get(recordId);
    if (changed) return changed;
    return recordId <= this.baseRecords ? this.gen.record(recordId - 1) : undefined;
  }

  private getHeader(recordId: number): ApiRecordHeader | undefined {
    if (this.hidden.has(recordId)) return undefined;
    const changed = this.overrides.get(recordId) ?? this.added.get(recordId);
    if (changed) return changed;
    return recordId <= this.baseRecords ? this.gen.header(recordId - 1) : undefined;
  }

  // Maps a listing position to a recordId, stepping over hard-deleted base records (few, sorted).
  private idAt(position: number): number | undefined {
    if (!Number.isInteger(position) || position < 0) return undefined;
    const liveBase = this.baseRecords - this.hiddenBase.length;
    if (position >= liveBase) return this.addedIds[position - liveBase];
    let id = position + 1;
    for (const gone of this.hiddenBase) {
      if (gone <= id) id++;
      else break;
    }
    return id;
  }

  // The listing position of a live record (base ids shift down past hard-deleted base records).
  private positionOf(recordId: number): number {
    if (recordId > this.baseRecords) {
      return this.baseRecords - this.hiddenBase.length + this.addedIds.indexOf(recordId);
    }
    let before = 0;
    for (const gone of this.hiddenBase) {
      if (gone < recordId) before++;
      else break;
    }
    return recordId - 1 - before;
  }

  // Changed base records below the generator's bound, then every position from the bound on (which
  // takes in added records too).
  private *recordsTouchedSince(ms: number): Generator<number> {
    const firstId = this.gen.firstIndexTouchedSince(ms) + 1;
    const early = [...this.overrides.keys()].filter((id) => id < firstId).sort((a, b) => a - b);
    for (const id of early) yield this.positionOf(id);
    const from =
      firstId > this.baseRecords ? this.baseRecords - this.hiddenBase.length : this.positionOf(firstId);
    for (let p = from; p < this.records.length; p++) yield p;
  }

  private *liveIds(): Generator<number> {
    for (let id = 1; id <= this.baseRecords; id++) if (!this.hidden.has(id)) yield id;
    yield* this.addedIds;
  }

  private recordList(): RecordList {
    const self = this;
    return {
      get length() {
        return self.baseRecords - self.hiddenBase.length + self.addedIds.length;
      },
      at(position) {
        const id = self.idAt(position);
        return id === undefined ? undefined : self.getRecord(id);
      },
      headerAt(position) {
        const id = self.idAt(position);
        return id === undefined ? undefined : self.getHeader(id);
      },
      *headers() {
        for (const id of self.liveIds()) yield self.getHeader(id) as ApiRecordHeader;
      },
      touchedSince: (ms) => self.recordsTouchedSince(ms),
      *[Symbol.iterator]() {
        for (const id of self.liveIds()) yield self.getRecord(id) as ApiRecord;
      },
    };
  }

  private revisionList(): RevisionList {
    const self = this;
    const at = (position: number) => {
      if (!Number.isInteger(position) || position < 0) return undefined;
      const base = self.gen.baseRevisionTotal;
      return position < base ? self.gen.revision(position) : self.revisionsAdded[position - base];
    };
    return {
      get length() {
        return self.gen.baseRevisionTotal + self.revisionsAdded.length;
      },
      at,
      // Revisions are only ever appended, so the base ones before the bound are all older.
      *touchedSince(ms) {
        const from = self.gen.firstRevisionOf(self.gen.firstIndexTouchedSince(ms));
        for (let p = from; p < this.length; p++) yield p;
      },
      *[Symbol.iterator]() {
        for (let p = 0; p < this.length; p++) yield at(p) as ApiRecordRevision;
      },
    };
  }

  private visitList(): LazyList<ApiVisit> {
    const self = this;
    const perSubject = this.active.length;
    const base = this.baseSubjects * perSubject;
    const at = (position: number) => {
      if (!Number.isInteger(position) || position < 0) return undefined;
      if (position >= base) return self.visitsAdded[position - base];
      const j = Math.floor(position / perSubject);
      const subject = self.subjects[j] as ApiSubject;
      return self.gen.visit(subject, j, position % perSubject, position + 1, self.gen.enrolledAt(j));
    };
    return {
      get length() {
        return base + self.visitsAdded.length;
      },
      at,
      *[Symbol.iterator]() {
        for (let p = 0; p < this.length; p++) yield at(p) as ApiVisit;
      },
    };
  }

  findRecord(predicate: (header: ApiRecordHeader) => boolean): ApiRecord | undefined {
    for (const header of this.records.headers()) {
      if (predicate(header)) return this.getRecord(header.recordId);
    }
    return undefined;
  }

  updateRecord(recordId: number, patch: RecordPatch): ApiRecord {
    const current = this.getRecord(recordId);
    if (!current) throw new RangeError(`No record ${recordId} in study ${this.studyKey}`);
    const { recordData, ...rest } = patch as RecordPatch & { recordId?: number; studyKey?: string };
    delete (rest as { recordId?: number }).recordId;
    delete (rest as { studyKey?: string }).studyKey;
    const next: ApiRecord = {
      ...current,
      ...rest,
      recordData: { ...current.recordData, ...recordData },
      dateModified: this.now(),
    };
    this.store(next);
    this.addRevision(next, next.deleted, recordData !== undefined);
    this.version++;
    return { ...next };
  }

  addRecord(input: NewRecord): ApiRecord {
    const form = this.forms.find((f) =>
      input.formKey !== undefined ? f.formKey === input.formKey : f.formId === input.formId,
    );
    if (!form) throw new RangeError(`Unknown form ${input.formKey ?? input.formId}`);
    const subject = this.subjects.find((s) =>
      input.subjectId !== undefined
        ? s.subjectId === input.subjectId
        : input.subjectKey !== undefined
          ? s.subjectKey === input.subjectKey
          : s.subjectOid === input.subjectOid,
    );
    if (!subject)
      throw new RangeError(`Unknown subject ${input.subjectKey ?? input.subjectId ?? input.subjectOid}`);
    const k = this.intervalIndexFor(form, input);
    const interval = (this.active[k] as GeneratorInterval).interval;
    const recordId = this.nextRecordId++;
    const now = this.now();
    const record: ApiRecord = {
      studyKey: this.studyKey,
      intervalId: interval.intervalId,
      formId: form.formId,
      formKey: form.formKey,
      siteId: subject.siteId,
      recordId,
      recordOid: input.recordOid ?? `REC-${recordId}`,
      recordType: input.recordType ?? 'SUBJECT',
      recordStatus: input.recordStatus ?? 'Record Incomplete',
      deleted: false,
      dateCreated: now,
      dateModified: now,
      subjectId: subject.subjectId,
      subjectOid: subject.subjectOid,
      subjectKey: subject.subjectKey,
      visitId: this.visitIdFor(subject, k),
      parentRecordId: input.parentRecordId ?? 0,
      keywords: input.keywords ? [...input.keywords] : [],
      recordData: { ...input.recordData },
    };
    this.added.set(recordId, record);
    this.addedIds.push(recordId);
    this.addRevision(record, false, true);
    this.version++;
    return { ...record };
  }

  deleteRecord(recordId: number, options: { hard?: boolean } = {}): boolean {
    const current = this.getRecord(recordId);
    if (!current) return false;
    if (!options.hard) {
      this.updateRecord(recordId, { deleted: true });
      return true;
    }
    this.hidden.add(recordId);
    if (recordId <= this.baseRecords) {
      const at = this.hiddenBase.findIndex((id) => id > recordId);
      this.hiddenBase.splice(at < 0 ? this.hiddenBase.length : at, 0, recordId);
    }
    this.overrides.delete(recordId);
    if (this.added.delete(recordId)) this.addedIds.splice(this.addedIds.indexOf(recordId), 1);
    this.addRevision({ ...current, dateModified: this.now() }, true, false);
    this.version++;
    return true;
  }

  registerSubject(input: { siteId?: number; siteName?: string }): ApiSubject {
    const siteIndex = this.sites.findIndex((s) =>
      input.siteId !== undefined ? s.siteId === input.siteId : s.siteName === input.siteName,
    );
    const site = this.sites[siteIndex];
    if (!site) throw new RangeError(`Unknown site ${input.siteName ?? input.siteId}`);
    const subjectId = this.subjects.length + 1;
    const sequence = this.subjects.filter((s) => s.siteId === site.siteId).length + 1;
    const r = new SeededRandom(hash32(this.seed ^ 0xadd5, subjectId));
    const subject = newSubject(this.studyKey, r, subjectId, siteIndex, sequence, site, this.nowMs);
    subject.dateModified = subject.dateCreated;
    this.subjects.push(subject);
    const first = this.visits.length + 1;
    this.firstVisitOf.set(subjectId, first);
    for (let k = 0; k < this.active.length; k++) {
      this.visitsAdded.push(this.gen.visit(subject, -1, k, first + k, this.nowMs));
    }
    this.version++;
    return { ...subject };
  }

  private store(record: ApiRecord): void {
    if (this.added.has(record.recordId)) this.added.set(record.recordId, record);
    else this.overrides.set(record.recordId, record);
  }

  private intervalIndexFor(form: ApiForm, input: NewRecord): number {
    if (input.intervalId !== undefined || input.intervalName !== undefined) {
      const k = this.active.findIndex((a) =>
        input.intervalId !== undefined
          ? a.interval.intervalId === input.intervalId
          : a.interval.intervalName === input.intervalName,
      );
      if (k < 0) throw new RangeError(`Unknown interval ${input.intervalName ?? input.intervalId}`);
      return k;
    }
    const k = this.active.findIndex((a) => a.interval.forms.some((f) => f.formId === form.formId));
    return Math.max(k, 0);
  }

  private visitIdFor(subject: ApiSubject, k: number): number {
    const first = this.firstVisitOf.get(subject.subjectId);
    if (first !== undefined) return first + k;
    return (subject.subjectId - 1) * this.active.length + k + 1;
  }

  private addRevision(record: ApiRecord, deleted: boolean, dataChanged: boolean): void {
    const id = record.recordId;
    const prev =
      this.revisionState.get(id) ??
      (id <= this.baseRecords ? this.gen.lastRevision(id - 1) : { recordRevision: 0, dataRevision: 0 });
    const next = {
      recordRevision: prev.recordRevision + 1,
      dataRevision: prev.dataRevision + (dataChanged || prev.dataRevision === 0 ? 1 : 0),
    };
    this.revisionState.set(id, next);
    this.revisionsAdded.push({
      studyKey: this.studyKey,
      recordRevisionId: this.gen.baseRevisionTotal + this.revisionsAdded.length + 1,
      recordId: id,
      recordOid: record.recordOid,
      recordRevision: next.recordRevision,
      dataRevision: next.dataRevision,
      recordStatus: record.recordStatus,
      subjectId: record.subjectId,
      subjectOid: record.subjectOid,
      subjectKey: record.subjectKey,
      siteId: record.siteId,
      formKey: record.formKey,
      intervalId: record.intervalId,
      role: API_USER.role,
      user: API_USER.login,
      reasonForChange: deleted
        ? 'Record deleted'
        : prev.recordRevision === 0
          ? ''
          : 'Updated through the API',
      deleted,
      dateCreated: this.now(),
    });
  }
}

/** Creates a seeded fake study; records, revisions and visits are generated only when read. */
export function createFakeStudy(options: FakeStudyOptions = {}): FakeStudy {
  return new Study(options);
}

/** Whether a value is a study made by {@link createFakeStudy}. */
export function isFakeStudy(value: unknown): value is FakeStudy {
  return value instanceof Study;
}
