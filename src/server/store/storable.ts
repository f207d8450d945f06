import { JitsshError } from '../../shared/errors.js'

/**
 * What both dialects can store alike. PostgreSQL refuses U+0000 in text and anything but a whole number
 * in a BIGINT, where SQLite takes both; a value one dialect keeps and the other refuses would make the same
 * request work on one and fail (500) on the other. So every parameter is checked before either database
 * sees it, and both refuse alike: strings without NUL, numbers whole and safe (no column holds fractions).
 * Routes validate their inputs before this (with messages about the field); this is the floor beneath them,
 * and answers 400, not 500, for what a route let through.
 */
export function assertStorable(params: readonly unknown[]): void {
  for (const value of params) {
    // PostgreSQL array parameters (text[]) and better-sqlite3's named parameters (one object): one level down.
    if (Array.isArray(value)) value.forEach(assertStorableValue)
    else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) Object.values(value).forEach(assertStorableValue)
    else assertStorableValue(value)
  }
}

function assertStorableValue(value: unknown): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw new JitsshError('ERR_BAD_REQUEST', 'text with a NUL character (U+0000) cannot be stored')
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new JitsshError('ERR_BAD_REQUEST', `${value} cannot be stored: numbers are whole and within ±2^53`)
  }
}
