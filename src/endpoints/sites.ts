/** Sites of a study. */
import * as v from 'valibot';
import { num, text } from './fields.js';
import type { ResourceSpec, StudyResource } from './resource.js';

/** A site. */
export const SiteSchema = v.looseObject({
  studyKey: text(),
  siteId: num(),
  siteName: text(),
  siteEnrollmentStatus: text(),
  dateCreated: text(),
  dateModified: text(),
});
/** A site. */
export type Site = v.InferOutput<typeof SiteSchema>;

/** `client.sites`. */
export type SitesEndpoint = StudyResource<Site>;

/** Where `client.sites` lives and how `get` finds one. */
export const sitesSpec: ResourceSpec<Site> = {
  segment: 'sites',
  idField: 'siteId',
  schema: SiteSchema,
  noun: 'site',
};
