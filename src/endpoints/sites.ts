/** Sites of a study. */
import * as v from 'valibot';
import { type FieldsOf, sentNum, sentText, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/**
 * A site.
 * Always sent (non-null, checked): `studyKey`, `siteId`, `siteName`, `dateCreated`, `dateModified`; the other fields may be absent or null.
 */
export const SiteSchema = v.looseObject({
  studyKey: sentText(),
  siteId: sentNum(),
  siteName: sentText(),
  siteEnrollmentStatus: text(),
  dateCreated: sentText(),
  dateModified: sentText(),
});
/** A site. */
export type Site = v.InferOutput<typeof SiteSchema>;
/** The Site fields `filter` and `sort` can name. */
export type SiteField = FieldsOf<typeof SiteSchema>;

/** `client.sites`. */
export type SitesEndpoint = StudyResource<Site, SiteField>;

/** Where `client.sites` lives and how `get` finds one. */
export const sitesSpec: ResourceSpec<Site> = {
  segment: 'sites',
  idField: 'siteId',
  schema: SiteSchema,
  noun: 'site',
};
