/**
 * Field builders shared by the resource schemas. The spec marks no response field required and its
 * examples send `null` for some, so a field is optional and nullable (`text`, `num`, `bool`) unless
 * it is one the API always sends (`sentText`, `sentNum`): the item's own id and key, `studyKey`, the
 * ids that define what the item belongs to, and `dateCreated`/`dateModified`. Those are plain
 * `string`/`number` in the types, and a page where one is missing or null fails as a
 * `ResponseValidationError` (with `validate: false` nothing checks them). An absent value stays
 * absent (never 0 or ""). Objects are loose: fields the API adds later are kept, not dropped.
 */
import * as v from 'valibot';

/** A page count: a whole number, zero or more. */
const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;

/**
 * The fields of an item schema that `filter` and `sort` can name: its scalar fields (the API
 * neither filters nor sorts on arrays and objects such as `keywords` or `recordData`).
 */
export type FieldsOf<S extends { entries: Record<string, v.GenericSchema> }> = {
  [K in keyof S['entries']]: NonNullable<v.InferOutput<S['entries'][K]>> extends string | number | boolean
    ? K
    : never;
}[keyof S['entries']] &
  string;

/** A string the API always sends. */
export const sentText = () => v.string();
/** A number the API always sends. */
export const sentNum = () => v.number();
/** An optional, nullable string. */
export const text = () => v.nullish(v.string());
/** An optional, nullable number. */
export const num = () => v.nullish(v.number());
/** An optional, nullable boolean. */
export const bool = () => v.nullish(v.boolean());
/** An optional, nullable list of integers (role date arrays). */
export const intArray = () => v.nullish(v.array(v.number()));

/** A keyword attached to a subject or record. */
export const KeywordSchema = v.looseObject({
  keywordName: text(),
  keywordKey: text(),
  keywordId: num(),
  dateAdded: text(),
});
/** A keyword attached to a subject or record. */
export type Keyword = v.InferOutput<typeof KeywordSchema>;

/** The envelope's `pagination` block; page counts must be whole numbers. */
export const PaginationSchema = v.looseObject({
  currentPage: num(),
  size: num(),
  totalPages: v.custom<number>(isCount, 'a whole number >= 0'),
  totalElements: v.custom<number>(isCount, 'a whole number >= 0'),
  sort: v.nullish(v.array(v.looseObject({ property: text(), direction: text() }))),
});
