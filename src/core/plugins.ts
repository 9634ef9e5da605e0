/**
 * The plugin host's types. A plugin is a function `(client, options) => extension`; the client
 * class's static `plugin(...)` returns a subclass whose instances carry every extension, typed.
 * A plugin can add request hooks with `client.addHooks(...)` (ky's own hooks) and its own option
 * keys by merging into the `ImednetOptions` interface.
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

/** A class constructor producing `T`. */
export type Constructor<T> = new (...args: any[]) => T;
