/**
 * A fake study's design as the workflows plugin's StudyStructure, built from the study itself
 * without the API, and its records as the SDK's type: for tests that map or export rows without a
 * mock server. (The fake study's items are the SDK's types in all but their index signatures.)
 */
import type { Record as SdkRecord } from '../../src/endpoints/records.js';
import { StudyStructure } from '../../src/plugins/workflows/structure.js';
import type { FakeStudy } from '../../src/testing/index.js';

type Parts = ConstructorParameters<typeof StudyStructure>[1];

/** The study's structure, from its own intervals, forms, variables and sites (or the ones given). */
export function structureOf(study: FakeStudy, parts: Partial<Record<keyof Parts, readonly unknown[]>> = {}) {
  return new StudyStructure(study.studyKey, {
    intervals: [...(parts.intervals ?? study.intervals)],
    forms: [...(parts.forms ?? study.forms)],
    variables: [...(parts.variables ?? study.variables)],
    sites: [...(parts.sites ?? study.sites)],
  } as unknown as Parts);
}

/** Records of the fake study typed as the SDK's records. */
export const sdkRecords = (records: readonly unknown[]) => records as SdkRecord[];
