/**
 * The design of a study: its intervals, the forms scheduled in each, every form's variables in
 * order, and its sites. Four listings fetched at once; the record mapper, the extraction criteria
 * and the subject tree read it to name and type columns and to turn ids into names.
 */
import type { Imednet } from '../../client.js';
import { AbortError, ConfigurationError } from '../../core/errors.js';
import type { Form } from '../../endpoints/forms.js';
import type { Interval } from '../../endpoints/intervals.js';
import type { Site } from '../../endpoints/sites.js';
import type { Variable } from '../../endpoints/variables.js';

/** A form with its variables, in `sequence` order (then by id). */
export interface StructureForm {
  form: Form;
  variables: readonly Variable[];
}

/** An interval with the forms scheduled in it, in the order the API lists them. */
export interface StructureInterval {
  interval: Interval;
  forms: readonly StructureForm[];
}

/** Options of `client.workflows.structure`. */
export interface StructureOptions {
  /** Fetch again even when a cached copy is still fresh. */
  refresh?: boolean;
  /** Aborts the fetch. */
  signal?: AbortSignal;
}

/** A study's design, as fetched at {@link StudyStructure.fetchedAt}. */
export class StudyStructure {
  /** The study it describes. */
  readonly studyKey: string;
  /** When the four listings were made. */
  readonly fetchedAt: Date;
  /** Intervals in `intervalSequence` order (then by id), each with its scheduled forms. */
  readonly intervals: readonly StructureInterval[];
  /** Every form, in the order the API lists them, with its variables. */
  readonly forms: readonly StructureForm[];
  /** Every site. */
  readonly sites: readonly Site[];
  /**
   * Variables whose `formId` names no form of the listing: kept here rather than dropped, so a
   * caller can see that the design it was given is incomplete.
   */
  readonly unplacedVariables: readonly Variable[];
  readonly #formsByKey = new Map<string, StructureForm>();
  readonly #formsById = new Map<number, StructureForm>();
  readonly #intervalsById = new Map<number, StructureInterval>();
  readonly #intervalsByName = new Map<string, StructureInterval>();
  readonly #sitesById = new Map<number, Site>();
  readonly #sitesByName = new Map<string, Site>();

  constructor(
    studyKey: string,
    parts: { intervals: Interval[]; forms: Form[]; variables: Variable[]; sites: Site[] },
    fetchedAt = new Date(),
  ) {
    this.studyKey = studyKey;
    this.fetchedAt = fetchedAt;
    const byForm = new Map<number, Variable[]>();
    const unplaced: Variable[] = [];
    const formIds = new Set(parts.forms.map((f) => f.formId));
    for (const variable of parts.variables) {
      if (!formIds.has(variable.formId)) {
        unplaced.push(variable);
        continue;
      }
      const list = byForm.get(variable.formId);
      if (list) list.push(variable);
      else byForm.set(variable.formId, [variable]);
    }
    this.forms = parts.forms.map((form) => {
      const variables = (byForm.get(form.formId) ?? []).sort(
        (a, b) => (a.sequence ?? Infinity) - (b.sequence ?? Infinity) || a.variableId - b.variableId,
      );
      const entry: StructureForm = { form, variables };
      this.#formsByKey.set(form.formKey, entry);
      this.#formsById.set(form.formId, entry);
      return entry;
    });
    this.unplacedVariables = unplaced;
    this.intervals = [...parts.intervals]
      .sort(
        (a, b) =>
          (a.intervalSequence ?? Infinity) - (b.intervalSequence ?? Infinity) || a.intervalId - b.intervalId,
      )
      .map((interval) => {
        const forms: StructureForm[] = [];
        for (const ref of interval.forms ?? []) {
          const found =
            (ref.formId != null ? this.#formsById.get(ref.formId) : undefined) ??
            (ref.formKey != null ? this.#formsByKey.get(ref.formKey) : undefined);
          if (found) forms.push(found);
        }
        const entry: StructureInterval = { interval, forms };
        this.#intervalsById.set(interval.intervalId, entry);
        this.#intervalsByName.set(interval.intervalName, entry);
        return entry;
      });
    this.sites = parts.sites;
    for (const site of parts.sites) {
      this.#sitesById.set(site.siteId, site);
      this.#sitesByName.set(site.siteName, site);
    }
  }

  /** The form with this key or id, with its variables. */
  form(keyOrId: string | number): StructureForm | undefined {
    return typeof keyOrId === 'number' ? this.#formsById.get(keyOrId) : this.#formsByKey.get(keyOrId);
  }

  /** The interval with this name or id, with its forms. */
  interval(nameOrId: string | number): StructureInterval | undefined {
    return typeof nameOrId === 'number'
      ? this.#intervalsById.get(nameOrId)
      : this.#intervalsByName.get(nameOrId);
  }

  /** The site with this name or id. */
  site(nameOrId: string | number): Site | undefined {
    return typeof nameOrId === 'number' ? this.#sitesById.get(nameOrId) : this.#sitesByName.get(nameOrId);
  }
}

/** Fetches a study's structure: intervals, forms, variables and sites, the four listings at once. */
export async function fetchStructure(
  client: Imednet,
  studyKey: string,
  options: { signal?: AbortSignal } = {},
): Promise<StudyStructure> {
  const controller = new AbortController();
  const outer = options.signal;
  const abort = () => controller.abort(outer?.reason);
  if (outer?.aborted) abort();
  outer?.addEventListener('abort', abort, { once: true });
  const list = { signal: controller.signal };
  try {
    const [intervals, forms, variables, sites] = await Promise.all([
      client.intervals.list(studyKey, list).toArray(),
      client.forms.list(studyKey, list).toArray(),
      client.variables.list(studyKey, list).toArray(),
      client.sites.list(studyKey, list).toArray(),
    ]).catch((error: unknown) => {
      // One listing failed: the others are not worth finishing.
      controller.abort(error);
      throw error;
    });
    return new StudyStructure(studyKey, { intervals, forms, variables, sites });
  } finally {
    outer?.removeEventListener('abort', abort);
  }
}

/**
 * A client's cache of study structures, each kept for `ttl` milliseconds. Concurrent calls for the
 * same study share one fetch; a failed fetch is not kept.
 */
export class StructureCache {
  readonly #client: Imednet;
  readonly #ttl: number;
  readonly #entries = new Map<string, { promise: Promise<StudyStructure>; expires: number }>();

  constructor(client: Imednet, ttl: number) {
    if (!Number.isFinite(ttl) || ttl < 0) {
      throw new ConfigurationError(`structureTtl must be a number of milliseconds >= 0 (got ${ttl})`);
    }
    this.#client = client;
    this.#ttl = ttl;
  }

  /**
   * The study's structure, from the cache while fresh. A cached fetch runs without the caller's
   * signal (others may be waiting for it): aborting stops this caller's wait, and the fetch still
   * fills the cache. With a `ttl` of 0 nothing is cached and the signal aborts the fetch itself.
   */
  get(studyKey: string, options: StructureOptions = {}): Promise<StudyStructure> {
    if (this.#ttl === 0) {
      return fetchStructure(this.#client, studyKey, options.signal ? { signal: options.signal } : {});
    }
    let entry = this.#entries.get(studyKey);
    if (entry === undefined || options.refresh || Date.now() >= entry.expires) {
      const promise = fetchStructure(this.#client, studyKey);
      const created = { promise, expires: Number.POSITIVE_INFINITY };
      this.#entries.set(studyKey, created);
      promise.then(
        () => {
          created.expires = Date.now() + this.#ttl;
        },
        () => {
          if (this.#entries.get(studyKey) === created) this.#entries.delete(studyKey);
        },
      );
      entry = created;
    }
    return options.signal ? abortable(entry.promise, options.signal) : entry.promise;
  }

  /** Forgets one study's structure, or every one. */
  clear(studyKey?: string): void {
    if (studyKey === undefined) this.#entries.clear();
    else this.#entries.delete(studyKey);
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = () =>
    new AbortError('The wait for the study structure was aborted', { cause: signal.reason });
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
