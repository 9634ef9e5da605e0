/** The `Imednet` client: every endpoint, one transport, and the plugin host. */
import { type ImednetOptions, resolveOptions } from './core/config.js';
import type { ClientContext } from './core/context.js';
import { Pacer, type RequestBudgetStatus } from './core/pacer.js';
import type { PluggedClass, Plugin, PluginHost, RequestHooks } from './core/plugins.js';
import { Transport } from './core/transport.js';
import { type CodingsEndpoint, codingsSpec } from './endpoints/codings.js';
import { type FormsEndpoint, formsSpec } from './endpoints/forms.js';
import { type IntervalsEndpoint, intervalsSpec } from './endpoints/intervals.js';
import { JobsEndpoint } from './endpoints/jobs.js';
import { type QueriesEndpoint, queriesSpec } from './endpoints/queries.js';
import { type RecordRevisionsEndpoint, recordRevisionsSpec } from './endpoints/record-revisions.js';
import { RecordsEndpoint } from './endpoints/records.js';
import { StudyResource } from './endpoints/resource.js';
import { type SitesEndpoint, sitesSpec } from './endpoints/sites.js';
import { StudiesEndpoint } from './endpoints/studies.js';
import { type SubjectsEndpoint, subjectsSpec } from './endpoints/subjects.js';
import { UsersEndpoint } from './endpoints/users.js';
import { type VariablesEndpoint, variablesSpec } from './endpoints/variables.js';
import { type VisitsEndpoint, visitsSpec } from './endpoints/visits.js';

/**
 * A client for the iMednet EDC API.
 * @example
 * const client = new Imednet({ apiKey, securityKey });
 * for await (const record of client.records.list('MYSTUDY')) console.log(record.recordId);
 */
export class Imednet {
  /** Plugins applied to every instance of this class. */
  static plugins: readonly Plugin[] = [];

  /**
   * Returns a client class with the given plugins applied; their additions are typed on its instances.
   * @example const Client = Imednet.plugin(myPlugin); const client = new Client({ apiKey, securityKey });
   */
  static plugin<S extends PluginHost, const T extends readonly Plugin[]>(
    this: S,
    ...plugins: T
  ): PluggedClass<S, T> {
    const current = this.plugins;
    const added = plugins.filter((p) => !current.includes(p));
    const Base = this as unknown as typeof Imednet;
    return class extends Base {
      static override plugins = [...current, ...added];
    } as unknown as PluggedClass<S, T>;
  }

  /** Studies your keys can see. */
  readonly studies: StudiesEndpoint;
  /** Sites of a study. */
  readonly sites: SitesEndpoint;
  /** Forms (eCRFs) of a study. */
  readonly forms: FormsEndpoint;
  /** Intervals (visit definitions) of a study. */
  readonly intervals: IntervalsEndpoint;
  /** Visits (subject visit instances) of a study. */
  readonly visits: VisitsEndpoint;
  /** Subjects of a study. */
  readonly subjects: SubjectsEndpoint;
  /** Users of a study. */
  readonly users: UsersEndpoint;
  /** Variables (fields) of a study's forms. */
  readonly variables: VariablesEndpoint;
  /** Medical codings of a study. */
  readonly codings: CodingsEndpoint;
  /** Queries of a study. */
  readonly queries: QueriesEndpoint;
  /** Record revisions (the audit trail) of a study. */
  readonly recordRevisions: RecordRevisionsEndpoint;
  /** Records of a study; `create` posts new data. */
  readonly records: RecordsEndpoint;
  /** Status of record-creation jobs. */
  readonly jobs: JobsEndpoint;

  readonly #transport: Transport;
  readonly #context: ClientContext;
  readonly #baseUrl: string;

  constructor(options: ImednetOptions) {
    const resolved = resolveOptions(options);
    this.#baseUrl = resolved.baseUrl;
    const settings: ConstructorParameters<typeof Transport>[0] = {
      apiKey: resolved.apiKey,
      securityKey: resolved.securityKey,
      apiRoot: resolved.apiRoot,
      retries: resolved.retries,
      backoffFactor: resolved.backoffFactor,
      maxRetryAfter: resolved.maxRetryAfter,
      timeout: resolved.timeout,
      maxResponseBytes: resolved.maxResponseBytes,
      showFilterValues: resolved.showFilterValues,
    };
    settings.pacer = new Pacer(resolved.requestBudget);
    if (resolved.fetch) settings.fetch = resolved.fetch;
    if (resolved.logger) settings.logger = resolved.logger;
    this.#transport = new Transport(settings);
    const ctx: ClientContext = {
      transport: this.#transport,
      pageSize: resolved.pageSize,
      concurrency: resolved.concurrency,
      maxConcurrency: resolved.maxConcurrency,
      validate: resolved.validate,
    };
    this.#context = ctx;
    this.studies = new StudiesEndpoint(ctx);
    this.sites = new StudyResource(ctx, sitesSpec);
    this.forms = new StudyResource(ctx, formsSpec);
    this.intervals = new StudyResource(ctx, intervalsSpec);
    this.visits = new StudyResource(ctx, visitsSpec);
    this.subjects = new StudyResource(ctx, subjectsSpec);
    this.users = new UsersEndpoint(ctx);
    this.variables = new StudyResource(ctx, variablesSpec);
    this.codings = new StudyResource(ctx, codingsSpec);
    this.queries = new StudyResource(ctx, queriesSpec);
    this.recordRevisions = new StudyResource(ctx, recordRevisionsSpec);
    this.records = new RecordsEndpoint(ctx);
    this.jobs = new JobsEndpoint(ctx);

    for (const plugin of (this.constructor as typeof Imednet).plugins) {
      const extension = plugin(this, options);
      if (extension && typeof extension === 'object') Object.assign(this, extension);
    }
  }

  /** The normalised API host this client talks to. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /**
   * The request budget as a progress display needs it: the limits and `msUntil(n)`, when `n` more
   * requests can all have been sent (counting any `Retry-After` pause too).
   * @example
   * const etaMs = Math.max(client.requestBudget.msUntil(pagesLeft), pagesLeft * msPerPage);
   */
  get requestBudget(): RequestBudgetStatus {
    return this.#transport.pacer;
  }

  /** Shared state for plugins: the transport and listing defaults. */
  get context(): ClientContext {
    return this.#context;
  }

  /**
   * Adds ky request hooks (`beforeRequest`, `afterResponse`, `beforeRetry`, `beforeError`), e.g. from a plugin.
   * @example client.addHooks({ afterResponse: [(_req, _opts, res) => { metrics.count(res.status) }] })
   */
  addHooks(hooks: RequestHooks): void {
    this.#transport.addHooks(hooks);
  }

  /** A credential-free description. */
  toJSON(): Record<string, unknown> {
    return { baseUrl: this.#baseUrl };
  }
}
