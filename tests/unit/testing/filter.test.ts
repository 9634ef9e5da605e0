import { describe, expect, it } from 'vitest';
import { compileFilter, FilterError, parseFilter } from '../../../src/testing/index.js';
import { call, listPath, setup } from './helpers.js';

const item = {
  siteId: 5,
  siteName: 'My Site, "North"',
  deleted: false,
  dateModified: '2024-05-01 10:00:00',
  weight: '72.5',
  code: 'abc',
  missing: null,
};

const match = (text: string, value: Record<string, unknown> = item, allowContains = true) =>
  compileFilter(text, { allowContains })(value);

function rejects(text: string, options: Parameters<typeof parseFilter>[1] = {}): FilterError {
  try {
    parseFilter(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterError);
    return error as FilterError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('filter grammar', () => {
  it('supports every comparison operator', () => {
    expect(match('siteId==5')).toBe(true);
    expect(match('siteId!=5')).toBe(false);
    expect(match('siteId<6')).toBe(true);
    expect(match('siteId<5')).toBe(false);
    expect(match('siteId<=5')).toBe(true);
    expect(match('siteId>4')).toBe(true);
    expect(match('siteId>5')).toBe(false);
    expect(match('siteId>=5')).toBe(true);
    expect(match('code=~B')).toBe(true);
    expect(match('code=~zz')).toBe(false);
  });

  it('compares numbers numerically, booleans as true/false and text as strings', () => {
    expect(match('siteId<10')).toBe(true); // numerically; as text '5' > '10'
    expect(match('weight>70')).toBe(true);
    expect(match('weight<100')).toBe(true);
    expect(match('deleted==false')).toBe(true);
    expect(match('deleted==true')).toBe(false);
    expect(match('dateModified>="2024-05-01 09:59:59"')).toBe(true);
    expect(match('dateModified<"2024-05-01 10:00:00"')).toBe(false);
    expect(match('code>abb')).toBe(true);
    expect(match('code==ABC')).toBe(false);
    expect(match('missing==null')).toBe(true);
    expect(match('missing!=null')).toBe(false);
    expect(match('missing>1')).toBe(false);
    expect(match('absent!=3')).toBe(true);
    expect(match('blank<5', { blank: '' })).toBe(false);
    expect(match('blank==""', { blank: '' })).toBe(true);
  });

  it('reads quoted values with \\" and \\\\ escapes', () => {
    expect(match('siteName=="My Site, \\"North\\""')).toBe(true);
    expect(parseFilter('a=="x\\\\y"')[0]![0]!.value).toBe('x\\y');
    expect(parseFilter('a=="semi;colon,comma"')[0]![0]!.value).toBe('semi;colon,comma');
    expect(parseFilter('a==""')[0]![0]).toMatchObject({ value: '', quoted: true });
    expect(parseFilter('a==two words')[0]![0]!.value).toBe('two words');
    rejects('a=="bad\\n"');
    rejects('a=="open');
    rejects('a=="x"y');
    rejects('a==x"y');
  });

  it('binds AND tighter than OR', () => {
    expect(parseFilter('a==1;b==2,c==3')).toHaveLength(2);
    // (siteId==1 AND code==abc) OR deleted==false → true via the second group
    expect(match('siteId==1;code==abc,deleted==false')).toBe(true);
    // siteId==1 OR (code==abc AND deleted==true) → false
    expect(match('siteId==1,code==abc;deleted==true')).toBe(false);
    // siteId==5 OR (code==zzz AND deleted==true) → true
    expect(match('siteId==5,code==zzz;deleted==true')).toBe(true);
  });

  it('rejects malformed text', () => {
    for (const text of [
      '',
      'a',
      'a=1',
      'a == 1',
      'a ==1',
      'a== 1',
      '1a==1',
      'a==1;',
      'a==1,',
      ';a==1',
      'a==',
      'a=!1',
    ]) {
      rejects(text);
    }
    rejects('a==1; b==2');
  });

  it('rejects =~ outside recordDataFilter, unknown and repeated attributes', () => {
    rejects('code=~a', { allowContains: false });
    const unknown = rejects('nope==1', { attributes: new Set(['siteId']) });
    expect(unknown.field).toBe('nope');
    expect(unknown.message).toContain('nope');
    const repeated = rejects('siteId>1;siteId<9');
    expect(repeated.field).toBe('siteId');
    rejects('siteId==1,siteId==2');
    expect(() => parseFilter('SiteId==1', { attributes: new Set(['siteId']) })).toThrow(FilterError);
  });
});

describe('filters through the API', () => {
  it('filters lists and answers 400 naming the field', async () => {
    const { study, api } = setup();
    const site = study.sites[0]!;
    const bySite = await call(
      api,
      listPath('subjects', { filter: `siteName=="${site.siteName}"`, size: 500 }),
    );
    expect(bySite.status).toBe(200);
    expect(bySite.body.data.length).toBe(study.subjects.filter((s) => s.siteId === site.siteId).length);

    const either = await call(api, listPath('sites', { filter: 'siteId==101,siteId==103' }));
    expect(either.status).toBe(400);

    const unknown = await call(api, listPath('sites', { filter: 'bogus==1' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.metadata.error).toMatchObject({ code: 'BAD_REQUEST', field: 'bogus' });

    const spaced = await call(api, listPath('sites', { filter: 'siteId == 101' }));
    expect(spaced.status).toBe(400);

    const contains = await call(api, listPath('records', { filter: 'formKey=~A' }));
    expect(contains.status).toBe(400);
  });

  it('applies recordDataFilter to record values, with =~ and AND/OR', async () => {
    const { study, api } = setup({ records: 2000 });
    const all = [...study.records];
    const answer = await call(api, listPath('records', { recordDataFilter: 'aeterm=~ache', size: 500 }));
    expect(answer.status).toBe(200);
    const expected = all.filter((r) =>
      String(r.recordData.aeterm ?? '')
        .toLowerCase()
        .includes('ache'),
    );
    expect(answer.body.pagination.totalElements).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(0);

    const numeric = await call(
      api,
      listPath('records', { recordDataFilter: 'sysbp>=170;pulse<60', size: 500 }),
    );
    const wanted = all.filter(
      (r) =>
        Number(r.recordData.sysbp) >= 170 && r.recordData.pulse !== '' && Number(r.recordData.pulse) < 60,
    );
    expect(numeric.body.data.map((r: { recordId: number }) => r.recordId)).toEqual(
      wanted.map((r) => r.recordId),
    );

    const both = await call(
      api,
      listPath('records', { filter: 'formKey==AE', recordDataFilter: 'aeser==Y,aesev==3', size: 500 }),
    );
    for (const r of both.body.data) {
      expect(r.formKey).toBe('AE');
      expect(r.recordData.aeser === 'Y' || r.recordData.aesev === '3').toBe(true);
    }

    const unknown = await call(api, listPath('records', { recordDataFilter: 'nosuchvar==1' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.metadata.error.field).toBe('nosuchvar');
  });
});
