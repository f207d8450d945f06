// Plain text tables for stdout: columns padded to the widest cell, the last column left ragged, nothing from
// the server that a terminal would act on or hide (terminalSafe) reaches it.
import { terminalSafe } from '../client/terminal-text.js'

export function safeCell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-'
  return terminalSafe(String(value))
}

export function renderTable(headers: string[], rows: string[][]): string {
  const cells = rows.map((row) => row.map(safeCell))
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)))
  const line = (row: string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`
}
