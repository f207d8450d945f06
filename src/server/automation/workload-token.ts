import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import type { ServerConfig, ServiceAccount, WorkloadTrust } from '../config/types.js'
import { WORKLOAD_ALGORITHMS, type IssuerKeys } from './issuer-keys.js'
import { AutomationRefusal, withSubject } from './refusal.js'

/** Clock skew allowed on exp, nbf and iat. */
export const WORKLOAD_SKEW_SECONDS = 60
/** A token that claims to live longer than this is refused (its jti would have to be remembered that long). */
const MAX_LIFETIME_SECONDS = 24 * 3600
const MAX_TOKEN_LENGTH = 16 * 1024
/** Claims kept in the audit trail (when present), each at most 200 characters. */
const AUDITED_CLAIMS = [
  'sub', 'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'ref', 'environment', 'job_workflow_ref',
  'workflow', 'run_id', 'run_attempt', 'event_name', 'actor', 'actor_id', 'project_path', 'project_id', 'pipeline_id', 'jti',
]

/** A verified workload token and the trust (and account) it stands for. */
export interface WorkloadMatch {
  account: ServiceAccount
  trust: WorkloadTrust
  issuer: string
  jti: string
  /** Unix seconds. */
  exp: number
  claims: Record<string, string>
}

/**
 * Verifies a CI provider's ID token against the configured trusts, fully and in this order: shape; `iss`
 * exactly one of the configured issuers; `alg` on the allow-list; the key by `kid` from the issuer's cached
 * JWKS; the signature; `exp`, `nbf` and `iat` with a minute of skew and a bounded lifetime; a `jti`; `aud`
 * exactly a trust's audience; then the first trust (in config order) whose claim conditions all hold, where a
 * pull-request run counts only for a trust that allows pull requests. The jti's single use and the account's
 * state are the caller's (they need the store).
 */
export async function verifyWorkloadToken(token: string, config: Pick<ServerConfig, 'serviceAccounts'>, keys: IssuerKeys, nowMs: number): Promise<WorkloadMatch> {
  if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) throw new AutomationRefusal('malformed', 'the subject token is not a signed JWT')
  let header: ReturnType<typeof decodeProtectedHeader>
  let unverified: JWTPayload
  try {
    header = decodeProtectedHeader(token)
    unverified = decodeJwt(token)
  } catch {
    throw new AutomationRefusal('malformed', 'the subject token is not a signed JWT')
  }
  const issuer = typeof unverified.iss === 'string' ? unverified.iss : ''
  const candidates = config.serviceAccounts.flatMap((account) => account.trusts.filter((trust) => trust.issuer === issuer).map((trust) => ({ account, trust })))
  if (candidates.length === 0) throw new AutomationRefusal('unknown_issuer', 'no trust of this server names the token\'s issuer', { issuer: issuer.slice(0, 200) })
  const about = { issuer }
  const alg = typeof header.alg === 'string' ? header.alg : ''
  if (!(WORKLOAD_ALGORITHMS as readonly string[]).includes(alg)) throw new AutomationRefusal('unsupported_alg', `tokens signed with "${alg.slice(0, 20)}" are not accepted`, about)

  let payload: JWTPayload
  try {
    const key = await keys.keyFor({ issuer, jwksUri: candidates[0]!.trust.jwksUri }, { kid: typeof header.kid === 'string' ? header.kid : undefined, alg })
    payload = (await jwtVerify(token, key, {
      algorithms: [alg], issuer, clockTolerance: WORKLOAD_SKEW_SECONDS, currentDate: new Date(nowMs), requiredClaims: ['exp', 'iat', 'jti'],
    })).payload
  } catch (error) {
    if (error instanceof AutomationRefusal) throw withSubject(error, about)
    throw joseRefusal(error, about)
  }
  const claims = auditedClaims(payload)
  const now = Math.floor(nowMs / 1000)
  const at = { ...about, claims }
  if ((payload.nbf ?? 0) > now + WORKLOAD_SKEW_SECONDS || (payload.iat ?? 0) > now + WORKLOAD_SKEW_SECONDS) throw new AutomationRefusal('not_yet_valid', 'the token is not valid yet (check the clocks)', at)
  if (payload.exp! - Math.min(payload.iat!, payload.nbf ?? payload.iat!) > MAX_LIFETIME_SECONDS) throw new AutomationRefusal('lifetime', 'the token is valid for longer than a day', at)
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new AutomationRefusal('malformed', 'the token has no usable jti', at)

  const audiences = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : []
  const forAudience = candidates.filter(({ trust }) => audiences.includes(trust.audience))
  if (forAudience.length === 0) throw new AutomationRefusal('audience', 'the token is for another audience', at)

  let pullRequest: (typeof forAudience)[number] | undefined
  for (const candidate of forAudience) {
    if (!claimsHold(candidate.trust, payload)) continue
    if (isPullRequestRun(payload) && !candidate.trust.allowPullRequests) {
      pullRequest ??= candidate
      continue
    }
    return { account: candidate.account, trust: candidate.trust, issuer, jti: payload.jti, exp: payload.exp!, claims }
  }
  if (pullRequest) {
    throw new AutomationRefusal('fork_ref', 'tokens of pull-request runs are refused (the trust does not allow pull requests)', { ...at, account: pullRequest.account.name, trust: pullRequest.trust.name })
  }
  throw new AutomationRefusal('claim_mismatch', 'the token\'s claims do not match any trust for its issuer and audience', at)
}

/** Every condition of the trust holds: the claim is there, a string (or a number, as its decimal text), one of the values. */
function claimsHold(trust: WorkloadTrust, payload: JWTPayload): boolean {
  return Object.entries(trust.claims).every(([claim, allowed]) => {
    const value = claimText(payload[claim])
    return value !== undefined && allowed.includes(value)
  })
}

function claimText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'boolean') return String(value)
  return undefined
}

/**
 * A run for a pull request (GitHub Actions: `refs/pull/N/merge` or a `pull_request*` event; GitLab: a merge
 * request pipeline): its code may come from a fork, so it never stands for an account unless a trust says so.
 */
export function isPullRequestRun(payload: JWTPayload): boolean {
  const ref = claimText(payload.ref) ?? ''
  const event = claimText(payload.event_name) ?? ''
  return ref.startsWith('refs/pull/') || event.startsWith('pull_request') || claimText(payload.pipeline_source) === 'merge_request_event'
}

function auditedClaims(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {}
  for (const claim of AUDITED_CLAIMS) {
    const value = claimText(payload[claim])
    if (value !== undefined) out[claim] = value.slice(0, 200)
  }
  return out
}

function joseRefusal(error: unknown, about: { issuer: string }): AutomationRefusal {
  if (error instanceof joseErrors.JWTExpired) return new AutomationRefusal('expired', 'the token has expired', about)
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return new AutomationRefusal('not_yet_valid', 'the token is not valid yet (check the clocks)', about)
    return new AutomationRefusal('malformed', `the token's "${error.claim}" claim is missing or invalid`, about)
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new AutomationRefusal('bad_signature', 'the token\'s signature does not verify', about)
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new AutomationRefusal('unsupported_alg', 'the token\'s algorithm is not accepted', about)
  return new AutomationRefusal('malformed', 'the subject token is not a valid JWT', about)
}
