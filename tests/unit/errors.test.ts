import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import * as errors from '../../src/core/errors.js';

const { ApiError } = errors;

describe('error tree', () => {
  it.each([
    [400, 'BadRequestError'],
    [401, 'UnauthorizedError'],
    [403, 'ForbiddenError'],
    [404, 'NotFoundError'],
    [409, 'ConflictError'],
    [429, 'RateLimitError'],
    [500, 'ServerError'],
    [503, 'ServerError'],
    [418, 'ApiError'],
  ])('ApiError.from(%i) is a %s carrying the API detail', (status, name) => {
    const error = ApiError.from(
      status,
      { code: 'X', message: 'detail', field: 'siteId' },
      { method: 'GET', url: 'https://h/x' },
    );
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf((errors as any)[name]);
    expect(error).toBeInstanceOf(errors.ApiError);
    expect(error).toBeInstanceOf(errors.ImednetError);
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(status);
    expect(error.code).toBe('X');
    expect(error.field).toBe('siteId');
    expect(error.message).toContain('detail');
    expect(error.message).toContain('GET https://h/x');
  });

  it('instanceof and guards work across duplicate copies of the package', async () => {
    // A second, independent copy of the module (as when two bundles include the SDK).
    vi.resetModules();
    const copy = (await import('../../src/core/errors.js')) as typeof errors;
    expect(copy.NotFoundError).not.toBe(errors.NotFoundError);
    const foreign = copy.ApiError.from(404, {});
    expect(foreign).toBeInstanceOf(errors.NotFoundError);
    expect(foreign).toBeInstanceOf(errors.ApiError);
    expect(foreign).not.toBeInstanceOf(errors.RateLimitError);
    expect(errors.isNotFoundError(foreign)).toBe(true);
    expect(errors.isApiError(foreign)).toBe(true);
    expect(errors.isImednetError(foreign)).toBe(true);
    expect(errors.isServerError(foreign)).toBe(false);
    expect(errors.isNotFoundError(new Error('x'))).toBe(false);
    expect(errors.isImednetError(null)).toBe(false);
  });

  it('separate classes for connection, timeout, abort, validation and configuration', () => {
    const list = [
      new errors.ConnectionError('c'),
      new errors.TimeoutError('t'),
      new errors.AbortError('a'),
      new errors.ResponseValidationError('v', [{ path: 'data.0.recordId', message: 'expected number' }]),
      new errors.ConfigurationError('x'),
    ];
    for (const error of list) {
      expect(error).toBeInstanceOf(errors.ImednetError);
      expect(error).not.toBeInstanceOf(errors.ApiError);
    }
    expect(list.map((e) => e.name)).toEqual([
      'ConnectionError',
      'TimeoutError',
      'AbortError',
      'ResponseValidationError',
      'ConfigurationError',
    ]);
    expect((list[3] as errors.ResponseValidationError).issues[0]?.path).toBe('data.0.recordId');
  });

  it('serialises to plain fields with JSON.stringify and prints cleanly', () => {
    const error = ApiError.from(
      400,
      { message: 'bad', code: 'BAD_REQUEST' },
      { method: 'GET', url: 'https://h/x' },
    );
    const json = JSON.parse(JSON.stringify(error));
    expect(json).toMatchObject({
      name: 'BadRequestError',
      status: 400,
      code: 'BAD_REQUEST',
      method: 'GET',
      url: 'https://h/x',
    });
    expect(inspect(error)).toContain('BadRequestError');
  });
});
