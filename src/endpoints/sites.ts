/** Sites of a study. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { num, text } from './fields.js';
import { StudyResource } from './resource.js';

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
export class SitesEndpoint extends StudyResource<Site> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'sites', idField: 'siteId', schema: SiteSchema, noun: 'site' });
  }
}
