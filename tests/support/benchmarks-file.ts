// Rewrites one `## Heading` section of BENCHMARKS.md, keeping every other section as it is.
import { readFileSync, writeFileSync } from 'node:fs';

/** Replaces the section that starts with `## {heading}` (up to the next `## `), or appends it. */
export function replaceBenchmarkSection(file: string, heading: string, section: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const body = `${section.trimEnd()}\n`;
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${body}`;
  } else {
    const after = text.indexOf('\n## ', start + 1);
    text = `${text.slice(0, start + 1)}${body}${after < 0 ? '' : `\n${text.slice(after + 1)}`}`;
  }
  writeFileSync(file, `${text.trimEnd()}\n`);
}
