/** Plain-text tables for the benchmark's report: pure formatting, no I/O. */
import type { Spread } from './stats';

/** `median (min–max)` with `digits` decimals; `n/a` when not measured. */
export function formatSpread(value: Spread, digits = 1): string {
  if (Number.isNaN(value.median)) return 'n/a';
  const fixed = (n: number) => n.toFixed(digits);
  if (value.min === value.max) return fixed(value.median);
  return `${fixed(value.median)} (${fixed(value.min)}–${fixed(value.max)})`;
}

/** Rows of cells as columns padded to their widest cell; the first row is the header, underlined. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}
