/**
 * Field builders shared by the resource schemas. Every field is optional and nullable: the API
 * omits fields and sends `null` at will, and an absent value must stay absent (never 0 or "").
 * Objects are loose: fields the API adds later are kept, not dropped.
 */
import * as v from 'valibot';

/** A page count: a whole number, zero or more. */
const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;

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
