/**
 * The plugin host's types. A plugin is a function `(client, options) => extension`; the client
 * class's static `plugin(...)` returns a subclass whose instances carry every extension, typed.
 * A plugin can add request hooks with `client.addHooks(...)` (ky's own hooks) and its own option
 * keys: the type of its second parameter is added to what the plugged-in class's constructor accepts.
 */

/** A plugin: called once per client instance; what it returns is merged into the client. */
export type Plugin<TClient = any, TOptions = any> = (client: TClient, options: TOptions) => object | void;

type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void
  ? I
  : never;

/** The intersection of what a list of plugins adds to the client. */
export type PluginExtensions<T extends readonly Plugin[]> =
  UnionToIntersection<Exclude<ReturnType<T[number]>, void | undefined>> extends infer E
    ? [E] extends [never]
      ? {}
      : E
    : {};

// The options a plugin reads, from its second parameter; nothing when it takes none (or `any`).
type OptionsOf<P> = P extends (client: any, options: infer O) => unknown
  ? unknown extends O
    ? never
    : O
  : never;

/** The intersection of the client options a list of plugins reads (`{}` when none). */
export type PluginOptions<T extends readonly Plugin[]> =
  UnionToIntersection<OptionsOf<T[number]>> extends infer O ? ([O] extends [never] ? {} : O) : {};

/** A class constructor producing `T`. */
export type Constructor<T> = new (...args: any[]) => T;

/** What `Imednet.plugin()` can be called on: the client class or a class it returned. */
export type PluginHost = (new (options: any) => object) & { plugins: readonly Plugin[] };

/**
 * The class `plugin()` returns: the statics of `S`, a constructor that takes `S`'s options plus every
 * plugin's own, and instances that carry every plugin's additions.
 */
export type PluggedClass<S extends PluginHost, T extends readonly Plugin[]> = {
  [K in keyof S]: S[K];
} & (new (
  options: ConstructorParameters<S>[0] & PluginOptions<T>,
) => InstanceType<S> & PluginExtensions<T>);

/**
 * Request hooks a plugin can add: ky's own hooks, described here without naming ky's types so the
 * published declarations load in CommonJS projects too (ky's types are ESM-only). Each function
 * receives exactly what ky passes to the hook of the same name.
 */
export interface RequestHooks {
  /** Before each attempt: `(request, options, { retryCount })`; may return a Request or a Response. */
  beforeRequest?: Array<(request: Request, options: any, state: { retryCount: number }) => unknown>;
  /** After each response: `(request, options, response, { retryCount })`; may return a Response. */
  afterResponse?: Array<
    (request: Request, options: any, response: Response, state: { retryCount: number }) => unknown
  >;
  /**
   * Before each retry, after the wait: `({ request, options, error, retryCount })`, where `error` is
   * the SDK error of the failed attempt (an `ApiError` for an HTTP status) and `request` the one
   * about to be sent; returning a Request sends that one instead.
   */
  beforeRetry?: Array<
    (state: { request: Request; options: any; error: Error; retryCount: number }) => unknown
  >;
  /** Before an HTTP error is thrown: `(error, { retryCount })`; returns the error to throw. */
  beforeError?: Array<(error: any, state: { retryCount: number }) => any>;
}
