/** Users of a study, with their roles. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { ConfigurationError } from '../core/errors.js';
import type { Paginator } from '../core/pagination.js';
import { bool, type FieldsOf, intArray, num, sentText, text } from './fields.js';
import { checkId, type GetOptions, type ListOptions, listPath, notFound, StudyResource } from './resource.js';

/** A role held by a user. Its dates are the API's 7-integer arrays; `parseApiDate` reads them. */
export const RoleSchema = v.looseObject({
  dateCreated: intArray(),
  dateModified: intArray(),
  roleId: text(),
  communityId: num(),
  name: text(),
  description: text(),
  level: num(),
  type: text(),
  inactive: bool(),
});
/** A role held by a user. */
export type Role = v.InferOutput<typeof RoleSchema>;

/**
 * A user of a study.
 * Always sent (non-null, checked): `userId`, `login`; the other fields may be absent or null.
 */
export const UserSchema = v.looseObject({
  userId: sentText(),
  login: sentText(),
  firstName: text(),
  lastName: text(),
  email: text(),
  userActiveInStudy: bool(),
  roles: v.nullish(v.array(RoleSchema)),
});
/** A user of a study. */
export type User = v.InferOutput<typeof UserSchema>;
/** The user fields `sort` can name. */
export type UserField = FieldsOf<typeof UserSchema>;

/** Options of `users.list`: the API takes no filter here, but can include inactive users. */
export interface UserListOptions extends Omit<ListOptions<UserField>, 'filter'> {
  /** Include users no longer active in the study (default false). */
  includeInactive?: boolean;
}

/** `client.users`. */
export class UsersEndpoint extends StudyResource<User, UserField> {
  constructor(ctx: ClientContext) {
    super(ctx, { segment: 'users', idField: 'userId', schema: UserSchema, noun: 'user' });
  }

  /** Lists users; `includeInactive` adds users no longer active. */
  override list(studyKey: string, options: UserListOptions = {}): Paginator<User> {
    if ((options as ListOptions).filter !== undefined) {
      throw new ConfigurationError('users.list takes no filter (the API rejects one)');
    }
    const extra =
      options.includeInactive === undefined ? {} : { includeInactive: String(options.includeInactive) };
    return listPath(this.ctx, this.pathFor(studyKey), this.spec, options, extra);
  }

  /** Finds a user by `userId` (the API cannot filter users, so this walks the listing and stops at the match). */
  override async get(
    studyKey: string,
    userId: string | number,
    options: GetOptions & { includeInactive?: boolean } = {},
  ): Promise<User> {
    const id = checkId(userId, 'userId');
    const listOptions: UserListOptions = { includeInactive: options.includeInactive ?? true, concurrency: 1 };
    if (options.signal) listOptions.signal = options.signal;
    for await (const user of this.list(studyKey, listOptions)) if (user.userId === String(id)) return user;
    throw notFound('user', 'userId', id);
  }
}
