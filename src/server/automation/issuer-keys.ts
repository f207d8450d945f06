import { importJWK, type JWK } from 'jose'
import { isLoopbackHost } from '../config/address.js'
import { AutomationRefusal } from './refusal.js'

/** Signature algorithms a workload token may use: asymmetric only (never `none` or an HMAC). */
export const WORKLOAD_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const

export interface IssuerKeysOptions {
  now: () => number
  fetch?: typeof globalThis.fetch
  /** An unknown `kid` fetches the keys again, at most this often per issuer (so forged kids cannot make us hammer it). */
  refetchCooldownMs?: number
  /** Keys older than this are fetched again on the next use (a key the issuer withdrew stops counting). */
  maxAgeMs?: number
  /** When the issuer cannot be reached, keys up to this old still count. */
  staleMaxAgeMs?: number
  /** Each request (discovery, keys), headers and body. */
  timeoutMs?: number
}

/** A verification key as jose imports it. */
export type VerificationKey = Awaited<ReturnType<typeof importJWK>>

/** Where an issuer's keys come from: `jwksUri`, else its OpenID discovery document. */
export interface KeySource {
  issuer: string
  jwksUri: string | undefined
}

interface Entry {
  keys: JWK[]
  imported: Map<string, VerificationKey>
  /** When the keys were last fetched successfully (-Infinity: never). */
  fetchedAt: number
  /** When a fetch was last started (successful or not). */
  attemptedAt: number
  pending: Promise<Entry> | undefined
}

const MAX_DOCUMENT_BYTES = 256 * 1024
const MAX_KEYS = 100

/**
 * The signing keys of the configured workload issuers, cached by issuer and looked up by `kid`: fetched on
 * first use and again after `maxAgeMs`, once more for a `kid` not seen before (at most every
 * `refetchCooldownMs`), never per request. Only issuers named in the config are ever fetched; each fetch is
 * bounded in time and size, follows no redirects, and one fetch per issuer runs at a time.
 */
export class IssuerKeys {
  private readonly entries = new Map<string, Entry>()
  private readonly fetchImpl: typeof globalThis.fetch
  private readonly refetchCooldownMs: number
  private readonly maxAgeMs: number
  private readonly staleMaxAgeMs: number
  private readonly timeoutMs: number

  constructor(private readonly options: IssuerKeysOptions) {
    this.fetchImpl = options.fetch ?? globalThis.fetch
    this.refetchCooldownMs = options.refetchCooldownMs ?? 60_000
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000
    this.staleMaxAgeMs = options.staleMaxAgeMs ?? 24 * 3_600_000
    this.timeoutMs = options.timeoutMs ?? 5_000
  }

  /** The key that verifies a token with this header; AutomationRefusal `unknown_kid` or `jwks_unavailable` otherwise. */
  async keyFor(source: KeySource, header: { kid?: string | undefined; alg: string }): Promise<VerificationKey> {
    const id = `${source.issuer}\n${source.jwksUri ?? ''}`
    let entry = this.entries.get(id)
    const now = this.options.now()
    if (entry === undefined || now - entry.fetchedAt >= this.maxAgeMs) entry = await this.refresh(id, source, entry)
    let jwk = pick(entry.keys, header)
    if (jwk === undefined && this.options.now() - entry.attemptedAt >= this.refetchCooldownMs) {
      entry = await this.refresh(id, source, entry)
      jwk = pick(entry.keys, header)
    }
    if (jwk === undefined) {
      throw new AutomationRefusal('unknown_kid', header.kid === undefined ? 'the token names no key (kid) and the issuer has more than one' : 'the token was signed with a key the issuer does not publish')
    }
    const cacheKey = `${jwk.kid ?? ''}\n${header.alg}`
    let key = entry.imported.get(cacheKey)
    if (key === undefined) {
      try {
        key = await importJWK(jwk, header.alg)
      } catch {
        throw new AutomationRefusal('unknown_kid', 'the issuer publishes the key in a form that cannot be used')
      }
      entry.imported.set(cacheKey, key)
    }
    return key
  }

  /** Fetches the keys once (concurrent callers share the fetch); keeps usable old keys if the issuer is down. */
  private async refresh(id: string, source: KeySource, previous: Entry | undefined): Promise<Entry> {
    const now = this.options.now()
    if (previous?.pending) return previous.pending
    if (previous !== undefined && previous.fetchedAt === -Infinity && now - previous.attemptedAt < this.refetchCooldownMs) {
      throw new AutomationRefusal('jwks_unavailable', `the keys of ${source.issuer} could not be fetched; try again shortly`)
    }
    const entry: Entry = previous ?? { keys: [], imported: new Map(), fetchedAt: -Infinity, attemptedAt: now, pending: undefined }
    entry.attemptedAt = now
    this.entries.set(id, entry)
    entry.pending = (async () => {
      try {
        const keys = await this.fetchKeys(source)
        entry.keys = keys
        entry.imported = new Map()
        entry.fetchedAt = this.options.now()
        return entry
      } catch (error) {
        if (entry.fetchedAt !== -Infinity && this.options.now() - entry.fetchedAt < this.staleMaxAgeMs) return entry
        throw new AutomationRefusal('jwks_unavailable', `the keys of ${source.issuer} could not be fetched (${error instanceof Error ? error.message : 'error'}); try again shortly`)
      } finally {
        entry.pending = undefined
      }
    })()
    return entry.pending
  }

  private async fetchKeys(source: KeySource): Promise<JWK[]> {
    let jwksUri = source.jwksUri
    if (jwksUri === undefined) {
      const discovery = await this.getJson(`${source.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)
      if (discovery.issuer !== source.issuer) throw new Error('its discovery document names another issuer')
      if (typeof discovery.jwks_uri !== 'string' || !fetchableUrl(discovery.jwks_uri)) throw new Error('its discovery document has no usable jwks_uri')
      jwksUri = discovery.jwks_uri
    }
    const jwks = await this.getJson(jwksUri)
    if (!Array.isArray(jwks.keys)) throw new Error('the key set has no keys')
    return (jwks.keys as unknown[])
      .slice(0, MAX_KEYS)
      .filter((key): key is JWK => typeof key === 'object' && key !== null && typeof (key as JWK).kty === 'string' && (key as JWK).d === undefined)
  }

  private async getJson(url: string): Promise<Record<string, unknown>> {
    const response = await this.fetchImpl(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) })
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(url).origin}`)
    const text = await readBounded(response, MAX_DOCUMENT_BYTES)
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
    return parsed as Record<string, unknown>
  }
}

/** https://, or http:// on loopback. */
function fetchableUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
  } catch {
    return false
  }
}

async function readBounded(response: Response, limit: number): Promise<string> {
  if (Number(response.headers.get('content-length') ?? 0) > limit) throw new Error('the document is too large')
  const reader = response.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => undefined)
      throw new Error('the document is too large')
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The key for this header: by `kid`, or the only key that fits the algorithm when the token names none. */
function pick(keys: JWK[], header: { kid?: string | undefined; alg: string }): JWK | undefined {
  const fitting = keys.filter((key) => fits(key, header.alg))
  if (header.kid !== undefined) return fitting.find((key) => key.kid === header.kid)
  return fitting.length === 1 ? fitting[0] : undefined
}

function fits(key: JWK, alg: string): boolean {
  if (key.use !== undefined && key.use !== 'sig') return false
  if (key.alg !== undefined && key.alg !== alg) return false
  if (/^(RS|PS)\d+$/.test(alg)) return key.kty === 'RSA'
  if (alg === 'ES256') return key.kty === 'EC' && key.crv === 'P-256'
  if (alg === 'ES384') return key.kty === 'EC' && key.crv === 'P-384'
  if (alg === 'EdDSA') return key.kty === 'OKP' && key.crv === 'Ed25519'
  return false
}
