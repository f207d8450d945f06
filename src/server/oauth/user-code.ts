import { randomInt } from 'node:crypto'

/** No vowels (no words), no look-alikes (0/O, 1/I/L, 5/S… only consonants): 20^8 ≈ 2^34 codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const LENGTH = 8

/** 8 characters, stored without the dash. */
export function generateUserCode(): string {
  let code = ''
  for (let i = 0; i < LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return code
}

/** `BCDF-GHJK` as shown to people. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** Upper-cases and strips dashes and spaces; undefined when it cannot be one of our codes. */
export function normalizeUserCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 32) return undefined
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== LENGTH) return undefined
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined
  return code
}
