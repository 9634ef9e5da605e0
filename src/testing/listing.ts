// Paging, sorting and filtering of list paths. The unfiltered, default-sorted case addresses the
// page directly (O(page) even over a million lazy records); anything else scans once and keeps the
// ordered positions in a small cache, so paging on through the same query is O(page) again.

import { ApiError } from './envelope.js';
import { FilterError, type FilterExpression, matchesFilter, parseFilter } from './filter.js';
import type { LazyList } from './types.js';

/** One sort criterion. */
export interface SortKey {
  property: string;
  direction: 'ASC' | 'DESC';
}

/** The parsed query of a list request. */
export interface ListQuery {
  page: number;
  size: number;
  /** Sort as requested; empty means the default. */
  sort: SortKey[];
  filterText: string;
  filter: FilterExpression | undefined;
  dataFilterText: string;
  dataFilter: FilterExpression | undefined;
}

/** What a list path accepts. */
export interface ListRules {
  fields: ReadonlySet<string>;
  filterable: boolean;
  /** Attributes recordDataFilter may use; undefined when the path takes no recordDataFilter. */
  dataAttributes?: ReadonlySet<string> | undefined;
  maxSize: number;
}

function integerParam(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ApiError(400, `Parameter '${name}' must be an integer`, name);
  return Number(raw);
}

/** Reads page, size, sort, filter and recordDataFilter, answering 400 to anything invalid. */
export function parseListQuery(params: URLSearchParams, rules: ListRules): ListQuery {
  const page = integerParam(params, 'page', 0);
  if (page < 0) throw new ApiError(400, `Parameter 'page' must not be negative`, 'page');
  const size = integerParam(params, 'size', 25);
  if (size < 1 || size > rules.maxSize) {
    throw new ApiError(400, `Parameter 'size' must be between 1 and ${rules.maxSize}`, 'size');
  }

  const sort: SortKey[] = [];
  for (const raw of params.getAll('sort')) {
    if (raw === '') continue;
    const [property = '', direction = 'asc', ...rest] = raw.split(',');
    const dir = direction.toUpperCase();
    if (rest.length > 0 || (dir !== 'ASC' && dir !== 'DESC')) {
      throw new ApiError(400, `Parameter 'sort' must look like 'field,asc' or 'field,desc'`, 'sort');
    }
    if (!rules.fields.has(property)) throw new ApiError(400, `Unknown sort property '${property}'`, property);
    if (sort.some((s) => s.property === property)) {
      throw new ApiError(400, `Sort property '${property}' given more than once`, property);
    }
    sort.push({ property, direction: dir });
  }

  const filterText = params.get('filter') ?? '';
  if (filterText !== '' && !rules.filterable) {
    throw new ApiError(400, `Parameter 'filter' is not supported on this path`, 'filter');
  }
  const dataFilterText = rules.dataAttributes ? (params.get('recordDataFilter') ?? '') : '';
  try {
    return {
      page,
      size,
      sort,
      filterText,
      filter: filterText === '' ? undefined : parseFilter(filterText, { attributes: rules.fields }),
      dataFilterText,
      dataFilter:
        dataFilterText === ''
          ? undefined
          : parseFilter(dataFilterText, {
              attributes: rules.dataAttributes,
              allowContains: true,
              param: 'recordDataFilter',
            }),
    };
  } catch (error) {
    if (error instanceof FilterError) throw new ApiError(400, error.message, error.field);
    throw error;
  }
}

/** A page of items and the total they came from. */
export interface ListPage {
  items: unknown[];
  total: number;
  sort: SortKey[];
}

/** Where a list's items come from. */
export interface ListSource {
  /** Identifies the data and its version; equal keys must mean equal data. */
  cacheKey: string;
  list: LazyList<object>;
  defaultSort: string;
  /** A cheaper item view for scans; must carry every filterable and sortable field. */
  probe?: ((position: number) => object | undefined) | undefined;
  /**
   * Ascending positions that may satisfy `filter` (a superset), or undefined to scan everything:
   * the source's index, used by date-filtered listings such as an incremental sync's.
   */
  candidates?: ((filter: FilterExpression) => Iterable<number> | undefined) | undefined;
}

const DAY_PREFIX = /^\d{4}-\d{2}-\d{2}/;

/**
 * The earliest instant a filter lets through on the given timestamp attributes, or undefined when
 * some OR branch has no `>=`, `>` or `==` bound on one of them. Filter values compare as text, and
 * an API timestamp at or after a value starts with a day at or after the value's day, so midnight of
 * that day is a safe bound.
 */
export function dateLowerBound(filter: FilterExpression, attributes: readonly string[]): number | undefined {
  let bound = Number.POSITIVE_INFINITY;
  for (const group of filter) {
    let best: number | undefined;
    for (const term of group) {
      if (!attributes.includes(term.attribute)) continue;
      if (term.operator !== '>=' && term.operator !== '>' && term.operator !== '==') continue;
      const day = DAY_PREFIX.exec(term.value)?.[0];
      const ms = day === undefined ? Number.NaN : Date.parse(`${day}T00:00:00Z`);
      if (Number.isFinite(ms) && (best === undefined || ms > best)) best = ms;
    }
    if (best === undefined) return undefined;
    bound = Math.min(bound, best);
  }
  return Number.isFinite(bound) ? bound : undefined;
}

/** Runs list queries, remembering the positions of a few recent filtered or sorted ones. */
export class ListEngine {
  private readonly cache = new Map<string, Uint32Array>();
  private readonly capacity: number;

  constructor(capacity = 6) {
    this.capacity = capacity;
  }

  /** Forgets every remembered query. */
  clear(): void {
    this.cache.clear();
  }

  /** One page of a list answer. */
  run(source: ListSource, query: ListQuery): ListPage {
    const { list } = source;
    const start = query.page * query.size;
    const sort =
      query.sort.length > 0 ? query.sort : [{ property: source.defaultSort, direction: 'ASC' as const }];
    const natural = sort.length === 1 && sort[0]?.property === source.defaultSort;
    if (!query.filter && !query.dataFilter && natural) {
      const total = list.length;
      const end = Math.min(total, start + query.size);
      const items: unknown[] = [];
      const descending = sort[0]?.direction === 'DESC';
      for (let i = start; i < end; i++) items.push(list.at(descending ? total - 1 - i : i));
      return { items, total, sort };
    }
    const positions = this.positions(source, query, sort);
    const items: unknown[] = [];
    const end = Math.min(positions.length, start + query.size);
    for (let i = start; i < end; i++) items.push(list.at(positions[i] as number));
    return { items, total: positions.length, sort };
  }

  private positions(source: ListSource, query: ListQuery, sort: readonly SortKey[]): Uint32Array {
    const key = [
      source.cacheKey,
      query.filterText,
      query.dataFilterText,
      sort.map((s) => `${s.property},${s.direction}`).join(';'),
    ].join('\u0000');
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const { list } = source;
    const view = query.dataFilter || !source.probe ? (p: number) => list.at(p) : source.probe;
    const matched: number[] = [];
    const keys: unknown[][] = sort.map(() => []);
    const candidates = query.filter && source.candidates?.(query.filter);
    for (const p of candidates ?? allPositions(list.length)) {
      const item = view(p) as Record<string, unknown> | undefined;
      if (!item) continue;
      if (query.filter && !matchesFilter(query.filter, item)) continue;
      if (
        query.dataFilter &&
        !matchesFilter(query.dataFilter, (item.recordData ?? {}) as Record<string, unknown>)
      ) {
        continue;
      }
      matched.push(p);
      for (let k = 0; k < sort.length; k++) (keys[k] as unknown[]).push(item[(sort[k] as SortKey).property]);
    }
    const order = matched.map((_, i) => i);
    order.sort((a, b) => {
      for (let k = 0; k < sort.length; k++) {
        const column = keys[k] as unknown[];
        const c = compareForSort(column[a], column[b]);
        if (c !== 0) return (sort[k] as SortKey).direction === 'DESC' ? -c : c;
      }
      return a - b;
    });
    const result = Uint32Array.from(order, (i) => matched[i] as number);
    this.cache.set(key, result);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return result;
  }
}

function* allPositions(n: number): Generator<number> {
  for (let p = 0; p < n; p++) yield p;
}

// Nulls first, then numbers, booleans and strings each in their natural order.
function compareForSort(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
