// Records, their revisions and visits are pure functions of (seed, index): a study of a million
// records costs nothing until a page of it is asked for, and any page is as cheap as the first.

import type { FormBlueprint, IntervalBlueprint, VariableBlueprint } from './catalog.js';
import { KEYWORDS, WORDS } from './catalog.js';
import { hash32, SeededRandom } from './random.js';
import { DAY, formatDate, formatTimestamp, MINUTE, parseTimestamp } from './time.js';
import type {
  ApiForm,
  ApiInterval,
  ApiKeyword,
  ApiRecord,
  ApiRecordData,
  ApiRecordHeader,
  ApiRecordRevision,
  ApiSubject,
  ApiVisit,
} from './types.js';

/** How generated record values are typed. */
export type ValueStyle = 'strings' | 'typed';

/** A form together with its design, as the generator needs it. */
export interface GeneratorForm {
  form: ApiForm;
  blueprint: FormBlueprint;
  variables: readonly VariableBlueprint[];
}

/** An active interval together with its design. */
export interface GeneratorInterval {
  interval: ApiInterval;
  blueprint: IntervalBlueprint;
  forms: readonly GeneratorForm[];
}

/** Everything the generator reads; fixed once the study is created. */
export interface GeneratorContext {
  seed: number;
  studyKey: string;
  recordCount: number;
  subjectCount: number;
  startMs: number;
  spanMs: number;
  valueStyle: ValueStyle;
  /** Active intervals in schedule order; index 0 is registration. */
  intervals: readonly GeneratorInterval[];
  staff: readonly { login: string; role: string }[];
}

const SALT_RECORD = 0x2ec0;
const SALT_TIME = 0x7173;
const SALT_REVISIONS = 0x4e51;
const SALT_REVISION = 0x4e52;
const SALT_VISIT = 0x5151;

const STATUSES = ['Record Complete', 'Record Incomplete', 'Record Verified', 'Record Locked'];
const STATUS_WEIGHTS = [50, 25, 20, 5];
const REASONS = ['Data entry error', 'Source document updated', 'Query response', 'Transcription error'];
// Fraction of the timeline over which subjects enrol; later records are follow-up data.
const ENROLMENT_SHARE = 0.6;
/** The longest a base record is edited after its creation: its dateModified and revisions fall in it. */
export const MAX_EDIT_MS = 14 * DAY;

/** Produces records, record revisions and visits of the base study from their index. */
export class RecordGenerator {
  readonly ctx: GeneratorContext;
  subjects: readonly ApiSubject[] = [];
  private readonly stride: number;
  private readonly slot: number;
  private readonly weights: number[];
  private revisionPrefix: Uint32Array | undefined;

  constructor(ctx: GeneratorContext) {
    this.ctx = ctx;
    const { recordCount: n, subjectCount: s } = ctx;
    this.stride = s > 0 ? Math.floor((ENROLMENT_SHARE * n) / s) : 0;
    this.slot = n > 0 ? ctx.spanMs / n : 0;
    this.weights = ctx.intervals.map((i) => i.blueprint.weight);
  }

  /** Creation time of base record `i`; a pure function so subjects can be dated before records exist. */
  createdAt(i: number): number {
    const jitter = hash32(this.ctx.seed ^ SALT_TIME, i) / 4294967296;
    return this.ctx.startMs + Math.floor(i * this.slot + jitter * this.slot);
  }

  /**
   * The first base record that may have been created, modified or revised at or after `ms`: every
   * record before it was created before `ms - MAX_EDIT_MS`. Creation times rise with the index, so
   * this is a binary search, the generator's only index.
   */
  firstIndexTouchedSince(ms: number): number {
    let lo = 0;
    let hi = this.ctx.recordCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.createdAt(mid) + MAX_EDIT_MS < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first base revision of base record `i` (the total when `i` is past the end). */
  firstRevisionOf(i: number): number {
    return this.prefix()[Math.min(i, this.ctx.recordCount)] as number;
  }

  /** Index of the registration record of subject `j`, or -1 when there are too few records. */
  registrationIndex(j: number): number {
    if (this.stride >= 1) return j * this.stride;
    return j < this.ctx.recordCount ? j : -1;
  }

  /** When subject `j` enrolled. */
  enrolledAt(j: number): number {
    const i = this.registrationIndex(j);
    if (i >= 0) return this.createdAt(i);
    const s = Math.max(1, this.ctx.subjectCount);
    return this.ctx.startMs + Math.floor((j * ENROLMENT_SHARE * this.ctx.spanMs) / s);
  }

  private subjectRegisteredAt(i: number): number {
    if (this.stride >= 1) {
      const j = i / this.stride;
      return Number.isInteger(j) && j < this.ctx.subjectCount ? j : -1;
    }
    return i < this.ctx.subjectCount ? i : -1;
  }

  private enrolledBy(i: number): number {
    const s = this.ctx.subjectCount;
    if (this.stride >= 1) return Math.min(s, Math.floor(i / this.stride) + 1);
    return Math.min(s, i + 1);
  }

  /** Base record `i` without its values. */
  header(i: number): ApiRecordHeader {
    return this.build(i, false);
  }

  /** Base record `i` with its values. */
  record(i: number): ApiRecord {
    return this.build(i, true) as ApiRecord;
  }

  private build(i: number, withData: boolean): ApiRecordHeader | ApiRecord {
    const { ctx } = this;
    const r = new SeededRandom(hash32(ctx.seed ^ SALT_RECORD, i));
    const registered = this.subjectRegisteredAt(i);
    const subjectIndex = registered >= 0 ? registered : r.int(0, this.enrolledBy(i) - 1);
    const intervalIndex = registered >= 0 ? 0 : r.weighted(this.weights);
    const slot = ctx.intervals[intervalIndex] as GeneratorInterval;
    const form = r.pick(slot.forms);
    const subject = this.subjects[subjectIndex] as ApiSubject;
    const created = this.createdAt(i);
    const end = ctx.startMs + ctx.spanMs;
    const edit = r.chance(0.5) ? 0 : r.int(1, MAX_EDIT_MS / MINUTE) * MINUTE;
    // Records created less than MAX_EDIT_MS before the end are edited within what is left, scaled
    // down, so the study's last second is not shared by every late edit.
    const room = Math.min(MAX_EDIT_MS, end - created);
    const modified = created + Math.floor((edit * room) / MAX_EDIT_MS / 1000) * 1000;
    const status = STATUSES[r.weighted(STATUS_WEIGHTS)] as string;
    const deleted = registered < 0 && r.chance(0.01);
    const keywords: ApiKeyword[] = r.chance(0.04) ? [keyword(r, formatTimestamp(modified))] : [];
    const recordId = i + 1;
    // One literal for both shapes: spreading a header into a new object costs more than the values.
    const recordData = withData ? recordValues(r, form.variables, created, ctx.valueStyle) : undefined;
    return {
      studyKey: ctx.studyKey,
      intervalId: slot.interval.intervalId,
      formId: form.form.formId,
      formKey: form.form.formKey,
      siteId: subject.siteId,
      recordId,
      recordOid: `REC-${recordId}`,
      recordType: 'SUBJECT',
      recordStatus: status,
      deleted,
      dateCreated: formatTimestamp(created),
      dateModified: formatTimestamp(modified),
      subjectId: subject.subjectId,
      subjectOid: subject.subjectOid,
      subjectKey: subject.subjectKey,
      visitId: subjectIndex * ctx.intervals.length + intervalIndex + 1,
      parentRecordId: 0,
      keywords,
      recordData,
    } as ApiRecord;
  }

  /** How many revisions base record `i` has (1 to 4). */
  revisionCount(i: number): number {
    return 1 + (hash32(this.ctx.seed ^ SALT_REVISIONS, i) % 4);
  }

  /** Total revisions of all base records; the prefix table behind it is built on first use. */
  get baseRevisionTotal(): number {
    const prefix = this.prefix();
    return prefix[prefix.length - 1] as number;
  }

  private prefix(): Uint32Array {
    if (this.revisionPrefix) return this.revisionPrefix;
    const n = this.ctx.recordCount;
    const prefix = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) prefix[i + 1] = (prefix[i] as number) + this.revisionCount(i);
    this.revisionPrefix = prefix;
    return prefix;
  }

  /** The `position`-th base revision, ordered by record then revision number. */
  revision(position: number): ApiRecordRevision {
    const prefix = this.prefix();
    let lo = 0;
    let hi = this.ctx.recordCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((prefix[mid] as number) <= position) lo = mid;
      else hi = mid - 1;
    }
    const i = lo;
    const k = position - (prefix[i] as number) + 1;
    const count = this.revisionCount(i);
    const record = this.header(i);
    const r = new SeededRandom(hash32(this.ctx.seed ^ SALT_REVISION, position));
    const who = r.pick(this.ctx.staff);
    const created = parseTimestamp(record.dateCreated);
    const modified = parseTimestamp(record.dateModified);
    const at = count === 1 ? modified : created + Math.floor(((modified - created) * (k - 1)) / (count - 1));
    const last = k === count;
    return {
      studyKey: this.ctx.studyKey,
      recordRevisionId: position + 1,
      recordId: record.recordId,
      recordOid: record.recordOid,
      recordRevision: k,
      dataRevision: k > 2 ? k - 1 : k,
      recordStatus: last ? record.recordStatus : 'Record Incomplete',
      subjectId: record.subjectId,
      subjectOid: record.subjectOid,
      subjectKey: record.subjectKey,
      siteId: record.siteId,
      formKey: record.formKey,
      intervalId: record.intervalId,
      role: who.role,
      user: who.login,
      reasonForChange: k === 1 ? '' : r.pick(REASONS),
      deleted: last && record.deleted,
      dateCreated: formatTimestamp(at),
    };
  }

  /** The last base revision numbers of record `i`: where a mutation's revision continues from. */
  lastRevision(i: number): { recordRevision: number; dataRevision: number } {
    const k = this.revisionCount(i);
    return { recordRevision: k, dataRevision: k > 2 ? k - 1 : k };
  }

  /** The visit of `subject` (base index `j`, or an added subject with j = -1) at active interval `k`. */
  visit(subject: ApiSubject, j: number, k: number, visitId: number, baselineMs: number): ApiVisit {
    const { ctx } = this;
    const slot = ctx.intervals[k] as GeneratorInterval;
    const bp = slot.blueprint;
    const r = new SeededRandom(hash32(ctx.seed ^ SALT_VISIT, visitId));
    const due = baselineMs + bp.dueDays * DAY;
    const actual = due + r.int(-bp.slack, bp.slack) * DAY;
    const firstForm = slot.forms[0];
    const dateQuestion = firstForm?.variables.find((v) => v.type === 'DATE') ?? firstForm?.variables[0];
    return {
      studyKey: ctx.studyKey,
      visitId,
      intervalId: slot.interval.intervalId,
      intervalName: slot.interval.intervalName,
      subjectId: subject.subjectId,
      subjectKey: subject.subjectKey,
      startDate: formatDate(due - bp.slack * DAY),
      endDate: formatDate(due + bp.slack * DAY),
      dueDate: bp.timeline.includes('Due') ? formatDate(due) : null,
      visitDate: formatDate(actual),
      visitDateForm: firstForm?.form.formName ?? '',
      visitDateQuestion: dateQuestion?.name ?? '',
      deleted: j >= 0 && r.chance(0.01),
      dateCreated: formatTimestamp(baselineMs),
      dateModified: formatTimestamp(Math.max(baselineMs, actual)),
    };
  }
}

function keyword(r: SeededRandom, dateAdded: string): ApiKeyword {
  const k = r.int(0, KEYWORDS.length - 1);
  const [keywordName, keywordKey] = KEYWORDS[k] as readonly [string, string];
  return { keywordName, keywordKey, keywordId: 15360 + k, dateAdded };
}

/** A keyword drawn from the catalogue, for subjects. */
export function randomKeyword(r: SeededRandom, dateAdded: string): ApiKeyword {
  return keyword(r, dateAdded);
}

// Values follow the live API: every answer is a string ('' when blank) unless the study asks for
// typed values, in which case numbers are numbers, checkboxes booleans and blanks null.
function recordValues(
  r: SeededRandom,
  variables: readonly VariableBlueprint[],
  createdMs: number,
  style: ValueStyle,
): ApiRecordData {
  const data: ApiRecordData = {};
  for (const v of variables) {
    const roll = r.next();
    if (roll < 0.03) continue;
    if (roll < 0.09) {
      data[v.name] = style === 'typed' ? null : '';
      continue;
    }
    data[v.name] = value(r, v, createdMs, style);
  }
  return data;
}

function value(r: SeededRandom, v: VariableBlueprint, createdMs: number, style: ValueStyle): unknown {
  switch (v.type) {
    case 'TEXT':
      return v.words ? r.pick(v.words) : `${r.pick(WORDS)} ${r.pick(WORDS)}`;
    case 'MEMO': {
      const words: string[] = [];
      for (let n = r.int(4, 12); n > 0; n--) words.push(r.pick(WORDS));
      const text = words.join(' ');
      return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
    }
    case 'NUMBER': {
      const min = v.min ?? 0;
      const max = v.max ?? 100;
      const text = (min + r.next() * (max - min)).toFixed(v.decimals ?? 1);
      return style === 'typed' ? Number(text) : text;
    }
    case 'INTEGER': {
      const n = r.int(v.min ?? 0, v.max ?? 100);
      return style === 'typed' ? n : String(n);
    }
    case 'DATE':
      return formatDate(createdMs - r.int(0, 20) * DAY);
    case 'TIME':
      return `${pad(r.int(6, 20))}:${pad(r.int(0, 59))}`;
    case 'DATETIME':
      return formatTimestamp(createdMs - r.int(0, 600) * MINUTE);
    case 'RADIO':
    case 'DROPDOWN':
      return r.pick(v.choices ?? ['1']);
    case 'CHECKBOX': {
      const checked = r.chance(0.4);
      return style === 'typed' ? checked : checked ? '1' : '0';
    }
  }
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
