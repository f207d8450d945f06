// What `jitssh doctor` reports: the checks in a fixed order, each PASS / WARN / FAIL / SKIP with one line of
// what was found and, when it is not a pass, the fix and a stable cause code; the first failure is the cause.
// This shape is `doctor --json` (version 1): fields are only ever added.
import { EXIT } from '../../shared/errors.js'

/** The checks, in the order they run and are shown. */
export const CHECK_IDS = ['server', 'session', 'clock', 'openssh', 'route', 'certificate', 'agent', 'known_hosts', 'policy', 'bastion', 'ssh'] as const
export type CheckId = (typeof CHECK_IDS)[number]

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  id: CheckId
  status: CheckStatus
  /** One line: what was found. */
  summary: string
  /** What to do about it (warn, fail; a skip may say what would let it run). */
  fix?: string
  /** A stable code for what went wrong (warn, fail), e.g. `session.ended`, `route.shadowed`. */
  cause?: string
}

export interface DoctorReport {
  version: 1
  server: string | null
  /** The host asked about (as given, without a user@), or null for the checks that need none. */
  host: string | null
  /** The login ssh will use for the host (`ssh -G`'s user), when known. */
  login: string | null
  checks: CheckResult[]
  /** The first failure: what to fix first. Null when nothing failed. */
  cause: { check: CheckId; cause: string; summary: string; fix: string | null } | null
  /** 0: no failure; 4: the cause is the login (session); 1: any other failure. */
  exit_code: number
}

export const pass = (id: CheckId, summary: string): CheckResult => ({ id, status: 'pass', summary })
export const skip = (id: CheckId, summary: string, fix?: string): CheckResult => ({ id, status: 'skip', summary, ...(fix !== undefined ? { fix } : {}) })
export const warn = (id: CheckId, cause: string, summary: string, fix: string): CheckResult => ({ id, status: 'warn', summary, fix, cause })
export const fail = (id: CheckId, cause: string, summary: string, fix: string): CheckResult => ({ id, status: 'fail', summary, fix, cause })

/** The report for these results: in CHECK_IDS order, the first failure as the cause, and the exit code. */
export function buildReport(fields: Pick<DoctorReport, 'server' | 'host' | 'login'>, results: CheckResult[]): DoctorReport {
  const checks = CHECK_IDS.map((id) => results.find((result) => result.id === id) ?? skip(id, 'not run'))
  const first = checks.find((check) => check.status === 'fail')
  const cause = first === undefined ? null : { check: first.id, cause: first.cause ?? first.id, summary: first.summary, fix: first.fix ?? null }
  const exitCode = first === undefined ? EXIT.OK : first.id === 'session' ? EXIT.AUTH : EXIT.FAILURE
  return { version: 1, ...fields, checks, cause, exit_code: exitCode }
}
