import type { AuditQuery } from './queries.js'

/**
 * The SQL of an audit search, for either dialect (`placeholder(n)` is `?` for SQLite, `$n` for PostgreSQL).
 * Exact matches on indexed columns: user and host (with seq), type (with seq) and time (ISO text, which
 * sorts as time). A type family `tunnel` is `tunnel` itself or `tunnel.` up to (not including) `tunnel/`:
 * '/' follows '.' (PostgreSQL's type column is COLLATE "C", so both compare bytes).
 */
export function auditSearchSql(query: AuditQuery, placeholder: (index: number) => string): { text: string; params: unknown[] } {
  const params: unknown[] = []
  const param = (value: unknown): string => placeholder(params.push(value))
  const where: string[] = []
  if (query.user !== undefined) where.push(`user_email = ${param(query.user)}`)
  if (query.host !== undefined) where.push(`host = ${param(query.host)}`)
  if (query.types !== undefined && query.types.length > 0) {
    where.push(`(${query.types.map((type) => `(type = ${param(type)} OR (type > ${param(`${type}.`)} AND type < ${param(`${type}/`)}))`).join(' OR ')})`)
  }
  if (query.since !== undefined) where.push(`time >= ${param(query.since)}`)
  if (query.until !== undefined) where.push(`time < ${param(query.until)}`)
  if (query.afterSeq !== undefined) where.push(`seq ${query.order === 'asc' ? '>' : '<'} ${param(query.afterSeq)}`)
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
  const text = `SELECT * FROM audit_events ${clause} ORDER BY seq ${query.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${param(query.limit)}`
  return { text, params }
}
