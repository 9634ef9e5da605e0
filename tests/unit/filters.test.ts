import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/core/errors.js';
import { expandIn, MAX_SPLIT, renderFilter, renderSort } from '../../src/core/filters.js';

describe('renderFilter', () => {
  it('renders every comparison operator', () => {
    expect(renderFilter({ a: 1 })).toBe('a==1');
    expect(renderFilter({ a: { eq: 1 } })).toBe('a==1');
    expect(renderFilter({ a: { ne: 1 } })).toBe('a!=1');
    expect(renderFilter({ a: { lt: 1 } })).toBe('a<1');
    expect(renderFilter({ a: { lte: 1 } })).toBe('a<=1');
    expect(renderFilter({ a: { gt: 1 } })).toBe('a>1');
    expect(renderFilter({ a: { gte: 1.5 } })).toBe('a>=1.5');
  });

  it('joins object entries with ; (AND) and array groups with , (OR)', () => {
    expect(renderFilter({ siteId: 3, formKey: 'AE' })).toBe('siteId==3;formKey==AE');
    expect(renderFilter([{ siteId: 3, formKey: 'AE' }, { subjectKey: 'X1' }])).toBe(
      'siteId==3;formKey==AE,subjectKey==X1',
    );
  });

  it('renders booleans as lower-case true/false', () => {
    expect(renderFilter({ deleted: false, disabled: true })).toBe('deleted==false;disabled==true');
  });

  it('renders dates as the API timestamp in UTC, quoted because of the space', () => {
    expect(renderFilter({ dateModified: { gte: new Date('2024-03-05T07:08:09Z') } })).toBe(
      'dateModified>="2024-03-05 07:08:09"',
    );
  });

  it('quotes values with spaces or grammar characters and escapes quotes and backslashes', () => {
    expect(renderFilter({ siteName: 'My Site' })).toBe('siteName=="My Site"');
    expect(renderFilter({ siteName: 'a;b,c' })).toBe('siteName=="a;b,c"');
    expect(renderFilter({ siteName: 'say "hi"' })).toBe('siteName=="say \\"hi\\""');
    expect(renderFilter({ siteName: 'back\\slash' })).toBe('siteName=="back\\\\slash"');
    expect(renderFilter({ siteName: '' })).toBe('siteName==""');
    expect(renderFilter({ subjectKey: '01-001' })).toBe('subjectKey==01-001');
    expect(renderFilter({ siteName: 'a==b' })).toBe('siteName=="a==b"');
  });

  it('never appends studyKey and leaves out undefined criteria', () => {
    expect(renderFilter({ siteId: undefined, formKey: 'AE' })).toBe('formKey==AE');
    expect(renderFilter({})).toBeUndefined();
    expect(renderFilter(undefined)).toBeUndefined();
  });

  it('passes a raw string through but rejects control characters in it', () => {
    expect(renderFilter('siteId>3')).toBe('siteId>3');
    expect(() => renderFilter('siteId==3\r\nX-Evil: 1')).toThrow(ConfigurationError);
  });

  it('allows contains (=~) only for recordDataFilter', () => {
    expect(renderFilter({ aeterm: { contains: 'head ache' } }, { allowContains: true })).toBe(
      'aeterm=~"head ache"',
    );
    expect(() => renderFilter({ aeterm: { contains: 'x' } })).toThrow(/only supported by recordDataFilter/);
  });

  it('rejects what would break the grammar before any request', () => {
    expect(() => renderFilter({ 'site name': 'x' })).toThrow(/not an identifier/);
    expect(() => renderFilter({ 'a==1;b': 'x' })).toThrow(ConfigurationError);
    expect(() => renderFilter({ a: 'line\nbreak' })).toThrow(/control character/);
    expect(() => renderFilter({ a: Number.NaN })).toThrow(/finite/);
    expect(() => renderFilter({ a: new Date('nope') })).toThrow(/invalid Date/);
    expect(() => renderFilter({ a: null as never })).toThrow(/must be a string, number, boolean or Date/);
    expect(() => renderFilter({ a: ['x', 'y'] as never })).toThrow(ConfigurationError);
    expect(() => renderFilter({ a: { gte: 1, lte: 2 } as never })).toThrow(/exactly one/);
    expect(() => renderFilter({ a: { like: 1 } as never })).toThrow(/exactly one/);
  });

  it('rejects an attribute that appears twice (the API allows it once)', () => {
    expect(() => renderFilter([{ siteId: 1 }, { siteId: 2 }])).toThrow(/more than once/);
  });
});

describe('expandIn', () => {
  it('leaves filters without "in" alone', () => {
    expect(expandIn(undefined)).toBeUndefined();
    expect(expandIn('formKey==AE')).toBeUndefined();
    expect(expandIn({ formKey: 'AE' })).toBeUndefined();
    expect(expandIn([{ formKey: 'AE' }, { siteId: 3 }])).toBeUndefined();
    expect(expandIn({ formKey: 'AE', siteId: undefined })).toBeUndefined();
  });

  it('splits "in" into one plain filter per value, in order, each value once', () => {
    expect(expandIn({ formKey: { in: ['AE', 'CM', 'AE'] }, deleted: false })).toEqual([
      { formKey: 'AE', deleted: false },
      { formKey: 'CM', deleted: false },
    ]);
    expect(expandIn({ siteId: { in: [1, 2] }, formKey: { in: ['AE', 'CM'] } })).toEqual([
      { siteId: 1, formKey: 'AE' },
      { siteId: 1, formKey: 'CM' },
      { siteId: 2, formKey: 'AE' },
      { siteId: 2, formKey: 'CM' },
    ]);
    expect(expandIn({ formKey: { in: [] } })).toEqual([]);
    for (const part of expandIn({ formKey: { in: ['AE', 'My form'] }, siteId: { gt: 2 } })!) {
      expect(renderFilter(part)).toMatch(/^formKey==(AE|"My form");siteId>2$/);
    }
  });

  it('refuses what it cannot split without overlap or excess', () => {
    expect(() => renderFilter([{ formKey: { in: ['AE'] } }, { siteId: 3 }])).toThrow(/not in OR groups/);
    expect(() => renderFilter({ aeterm: { in: ['x'] } }, { allowContains: true })).toThrow(
      /not in OR groups/,
    );
    expect(() => expandIn({ formKey: { in: 'AE' } as never })).toThrow(/array of values/);
    expect(() => expandIn({ formKey: { in: ['AE'], ne: 'CM' } as never })).toThrow(/must be alone/);
    const many = Array.from({ length: MAX_SPLIT + 1 }, (_, i) => i);
    expect(() => expandIn({ siteId: { in: many } })).toThrow(/over 50 requests/);
  });
});

describe('renderSort', () => {
  it('renders field names, descending prefixes and objects', () => {
    expect(renderSort('recordId')).toEqual(['recordId,asc']);
    expect(renderSort(['-dateModified', { field: 'recordId', direction: 'desc' }, 'siteId,desc'])).toEqual([
      'dateModified,desc',
      'recordId,desc',
      'siteId,desc',
    ]);
    expect(renderSort(undefined)).toEqual([]);
  });

  it('rejects bad fields and directions', () => {
    expect(() => renderSort('record id')).toThrow(ConfigurationError);
    expect(() => renderSort('recordId,up')).toThrow(/asc or desc/);
  });
});
