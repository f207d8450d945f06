// Plain text tables for stdout: columns padded to the widest cell, the last column left ragged, control
// characters from the server never reach the terminal.

export function safeCell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-'
  return String(value).replace(/[\x00-\x1f\x7f-\x9f]/g, '?')
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
