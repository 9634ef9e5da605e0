// Profile a whole study on this machine with DuckDB-WASM: every record loaded once from the API
// into a table per form, then the profile and a question of your own, in SQL, with no server.
//   IMEDNET_API_KEY=… IMEDNET_SECURITY_KEY=… node index.mjs [STUDYKEY]
import { Imednet } from 'imednet';
import { openStudyDatabase, profileStudy } from 'imednet/plugins/duckdb';

const studyKey = process.argv[2] ?? 'MYSTUDY';
const client = new Imednet({
  apiKey: process.env.IMEDNET_API_KEY,
  securityKey: process.env.IMEDNET_SECURITY_KEY,
  ...(process.env.IMEDNET_BASE_URL ? { baseUrl: process.env.IMEDNET_BASE_URL } : {}),
});

const db = openStudyDatabase();
try {
  const loaded = await db.loadStudy(client, studyKey);
  console.log(
    `${studyKey}: ${loaded.rows} records in ${loaded.tables.length} tables, loaded in ${loaded.ms} ms`,
  );

  const profile = await profileStudy(db, { topValues: 3 });
  for (const form of profile.forms) {
    const complete = form.completeness === null ? '—' : `${Math.round(form.completeness * 100)}%`;
    console.log(`  ${form.form.padEnd(8)} ${String(form.records).padStart(7)} records, ${complete} complete`);
  }
  const sparse = profile.fields.filter((f) => f.populationRate !== null && f.populationRate < 0.5);
  console.log(
    `fields filled in under half of their records: ${sparse.map((f) => `${f.form}.${f.field}`).join(', ') || 'none'}`,
  );

  // Your own question, in SQL: records per site of the largest form.
  const largest = [...profile.forms].sort((a, b) => b.records - a.records)[0];
  if (largest) {
    const perSite = await db.query(
      `SELECT "siteName", count(*) AS records FROM "${largest.form.replaceAll('"', '""')}" GROUP BY 1 ORDER BY 2 DESC`,
    );
    console.log(`${largest.form} per site: ${perSite.map((r) => `${r.siteName} ${r.records}`).join(', ')}`);
  }
} finally {
  await db.close();
}
