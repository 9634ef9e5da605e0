/**
 * How `imednet export` shows its progress: live bars per study and form on a terminal
 * (cli-progress), a plain line every few seconds when stderr is not one, NDJSON events on stdout
 * with `--json` (for schedulers), or nothing with `--quiet`. Bars and lines go to stderr, so that
 * stdout carries only the summary (or the events).
 */
import cliProgress from 'cli-progress';
import type { ExportProgress, ExportSummary } from '../plugins/sinks/index.js';
import { count, duration } from './output.js';

/** How progress is shown. */
export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

/** One form of a study about to be exported, with the records the server counts for it. */
export interface TablePlan {
  name: string;
  /** Records expected (an upper bound when some criteria are matched on the client). */
  total: number | undefined;
}

/** What the export command tells its display. */
export interface ExportDisplay {
  /** A study is about to be exported. */
  start(studyKey: string, tables: readonly TablePlan[], target: string): void;
  /** A batch was written or skipped. */
  progress(studyKey: string, progress: ExportProgress): void;
  /** A study finished. */
  done(studyKey: string, summary: ExportSummary, target: string): void;
  /** A study failed (the others go on). */
  failed(studyKey: string, message: string): void;
  /** Every study is over; the display lets go of the terminal. */
  stop(): void;
}

/** The writers a display uses (the process's streams by default; tests give their own). */
export interface DisplayStreams {
  out: (text: string) => void;
  err: (text: string) => void;
  /** The terminal stream the bars redraw (stderr). */
  terminal?: NodeJS.WriteStream;
  /** Milliseconds between plain lines (default 5,000). */
  lineEveryMs?: number;
}

/** Per-table counts a display keeps from the runner's cumulative progress. */
class Tally {
  readonly rows = new Map<string, number>();
  #last = 0;
  /** Adds what this progress event added, to its table; returns the table's count. */
  add(progress: ExportProgress): number {
    const handled = progress.rows + progress.skippedRows;
    const n = (this.rows.get(progress.table) ?? 0) + (handled - this.#last);
    this.#last = handled;
    this.rows.set(progress.table, n);
    return n;
  }
}

/** `1 table`, `3 tables`. */
const plural = (n: number, noun: string) => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

const bytes = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : `${(n / 1e3).toFixed(1)} kB`;

/** The closing summary of one study, as lines. */
export function summaryLines(studyKey: string, summary: ExportSummary, target: string): string[] {
  const lines: string[] = [];
  const seconds = summary.elapsedMs / 1000;
  if (summary.alreadyComplete) {
    lines.push(`${studyKey}: ${target} already holds this export, complete; nothing written`);
    return lines;
  }
  lines.push(
    `${studyKey}: ${count(summary.rows)} rows in ${plural(summary.tables.length, 'table')} to ${target} (${summary.sink}), ${summary.bytes > 0 ? `${bytes(summary.bytes)} ` : ''}in ${seconds.toFixed(1)} s` +
      (summary.resumed ? `, resumed: ${count(summary.skippedRows)} rows were already written` : ''),
  );
  const width = Math.max(...summary.tables.map((t) => t.name.length), 4);
  for (const table of summary.tables)
    lines.push(`  ${table.name.padEnd(width)}  ${count(table.rows).padStart(11)} rows`);
  return lines;
}

/** A display for `mode`. */
export function createDisplay(mode: ProgressMode, streams: DisplayStreams): ExportDisplay {
  if (mode === 'json') return jsonDisplay(streams);
  if (mode === 'quiet') return quietDisplay(streams);
  if (mode === 'bars' && streams.terminal) return barsDisplay(streams, streams.terminal);
  return linesDisplay(streams);
}

function quietDisplay(streams: DisplayStreams): ExportDisplay {
  return {
    start: () => undefined,
    progress: () => undefined,
    done: () => undefined,
    failed: (studyKey, message) => streams.err(`${studyKey}: failed: ${message}\n`),
    stop: () => undefined,
  };
}

function jsonDisplay(streams: DisplayStreams): ExportDisplay {
  const emit = (event: object) =>
    streams.out(`${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`);
  const tallies = new Map<string, Tally>();
  const totals = new Map<string, Map<string, number | undefined>>();
  let lastAt = 0;
  return {
    start(studyKey, tables, target) {
      tallies.set(studyKey, new Tally());
      totals.set(studyKey, new Map(tables.map((t) => [t.name, t.total])));
      emit({ event: 'start', study: studyKey, target, tables });
    },
    progress(studyKey, p) {
      const rows = tallies.get(studyKey)?.add(p) ?? 0;
      const now = Date.now();
      if (now - lastAt < 1000) return;
      lastAt = now;
      emit({
        event: 'progress',
        study: studyKey,
        table: p.table,
        tableRows: rows,
        tableTotal: totals.get(studyKey)?.get(p.table) ?? null,
        rows: p.rows,
        skippedRows: p.skippedRows,
        bytes: p.bytes,
        rowsPerSecond: Math.round(p.rowsPerSecond),
      });
    },
    done(studyKey, summary, target) {
      emit({ event: 'done', study: studyKey, target, ...summary });
    },
    failed(studyKey, message) {
      emit({ event: 'failed', study: studyKey, error: message });
    },
    stop: () => undefined,
  };
}

function linesDisplay(streams: DisplayStreams): ExportDisplay {
  const every = streams.lineEveryMs ?? 5000;
  const state = new Map<string, { tally: Tally; total: number | undefined; lastAt: number }>();
  return {
    start(studyKey, tables, target) {
      const known = tables.every((t) => t.total !== undefined);
      const total = known ? tables.reduce((n, t) => n + (t.total ?? 0), 0) : undefined;
      state.set(studyKey, { tally: new Tally(), total, lastAt: Date.now() });
      streams.err(
        `${studyKey}: exporting ${plural(tables.length, 'table')}${total !== undefined ? ` (${count(total)} records)` : ''} to ${target}\n`,
      );
    },
    progress(studyKey, p) {
      const s = state.get(studyKey);
      if (!s) return;
      s.tally.add(p);
      const now = Date.now();
      if (now - s.lastAt < every) return;
      s.lastAt = now;
      const handled = p.rows + p.skippedRows;
      const share = s.total
        ? ` / ${count(s.total)} (${Math.min(100, Math.floor((100 * handled) / s.total))}%)`
        : '';
      const left =
        s.total && p.rowsPerSecond > 0 && handled < s.total
          ? `, about ${duration(((s.total - handled) / p.rowsPerSecond) * 1000)} left`
          : '';
      streams.err(
        `${studyKey}: ${count(handled)}${share} rows, ${count(Math.round(p.rowsPerSecond))} rows/s${left}\n`,
      );
    },
    done(studyKey, summary, target) {
      streams.out(`${summaryLines(studyKey, summary, target).join('\n')}\n`);
    },
    failed(studyKey, message) {
      streams.err(`${studyKey}: failed: ${message}\n`);
    },
    stop: () => undefined,
  };
}

/** A bar's `rows` (`1,000/5,588`) and `left` (the time left at `rate` rows a second, or `done`). */
function counts(rows: number, total: number, rate: number): { rows: string; left: string } {
  const left = rows >= total ? 'done' : rate > 0 ? `${duration(((total - rows) / rate) * 1000)} left` : '';
  return { rows: `${count(rows)}/${count(total)}`, left };
}

function barsDisplay(streams: DisplayStreams, terminal: NodeJS.WriteStream): ExportDisplay {
  const multibar = new cliProgress.MultiBar(
    {
      stream: terminal,
      clearOnComplete: false,
      hideCursor: true,
      etaBuffer: 50,
      format: ' {study} {table} [{bar}] {percentage}% | {rows} rows | {rate}/s | {left}',
      barsize: 24,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, Map<string, cliProgress.SingleBar>>();
  const tallies = new Map<string, Tally>();
  const started = new Map<string, number>();
  // The summaries wait for the bars to let go of the terminal.
  const summaries: string[] = [];
  return {
    start(studyKey, tables, target) {
      multibar.log(`${studyKey}: exporting ${plural(tables.length, 'table')} to ${target}\n`);
      const width = Math.max(...tables.map((t) => t.name.length), 4);
      const mine = new Map<string, cliProgress.SingleBar>();
      for (const table of tables) {
        mine.set(
          table.name,
          multibar.create(table.total ?? 0, 0, {
            study: studyKey,
            table: table.name.padEnd(width),
            rate: '0',
            ...counts(0, table.total ?? 0, 0),
          }),
        );
      }
      bars.set(studyKey, mine);
      tallies.set(studyKey, new Tally());
      started.set(studyKey, Date.now());
    },
    progress(studyKey, p) {
      const rows = tallies.get(studyKey)?.add(p) ?? 0;
      const bar = bars.get(studyKey)?.get(p.table);
      if (!bar) return;
      if (rows > bar.getTotal()) bar.setTotal(rows);
      const seconds = (Date.now() - (started.get(studyKey) ?? Date.now())) / 1000;
      const rate = rows / Math.max(seconds, 0.001);
      bar.update(rows, { rate: count(Math.round(rate)), ...counts(rows, bar.getTotal(), rate) });
    },
    done(studyKey, summary, target) {
      // A form whose count was an upper bound ends at what was written.
      for (const [name, bar] of bars.get(studyKey) ?? []) {
        const rows = tallies.get(studyKey)?.rows.get(name) ?? 0;
        bar.setTotal(rows);
        bar.update(rows, counts(rows, rows, 0));
      }
      summaries.push(...summaryLines(studyKey, summary, target));
    },
    failed(studyKey, message) {
      multibar.log(`${studyKey}: failed: ${message}\n`);
    },
    stop() {
      multibar.stop();
      if (summaries.length > 0) streams.out(`${summaries.join('\n')}\n`);
    },
  };
}
