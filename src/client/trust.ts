// TLS to a jitssh server whose certificate comes from a private CA: which extra CA file to trust (JITSSH_CA_FILE,
// else the file `jitssh login --ca-file` kept for that server in config.json, so that every process the ssh
// config block runs, ssh-gen and the ProxyCommand, trusts it too, whatever their environment), and how a
// TLS failure is told apart from a network one and named with its fix.
import { readFileSync } from 'node:fs'
import { JitsshError } from '../shared/errors.js'
import { parseJitsshEnv } from './env.js'
import { readConfig, type ClientConfig } from './files/config-store.js'
import type { JitsshPaths } from './files/paths.js'

/** A CA file's certificates, to add to Node's bundled roots for one server. */
export interface ExtraCa {
  file: string
  /** Node's roots plus the file's certificates (giving `ca` replaces the roots, so they are included). */
  ca: string[]
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Reads a PEM file of CA certificates; ERR_USAGE when it is unreadable or has none. */
export function readCaFile(file: string): ExtraCa {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new JitsshError('ERR_USAGE', `cannot read the CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error })
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? []
  if (certificates.length === 0) throw new JitsshError('ERR_USAGE', `${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`)
  // node:tls loads here, for a private CA only: at the top it cost every jitssh command its start-up time.
  const { rootCertificates } = process.getBuiltinModule('node:tls') as typeof import('node:tls')
  return { file, ca: [...rootCertificates, ...certificates] }
}

/** The CA file to trust for requests to `url`: JITSSH_CA_FILE, else the one kept for a server of that origin. */
export function caFileFor(env: Record<string, string | undefined>, config: ClientConfig, url: string): string | undefined {
  const forced = parseJitsshEnv(env).caFile
  if (forced !== undefined) return forced
  let origin: string
  try {
    origin = new URL(url).origin
  } catch {
    return undefined
  }
  for (const [server, record] of Object.entries(config.servers)) {
    if (record.ca_file !== undefined && sameOrigin(server, origin)) return record.ca_file
  }
  return undefined
}

/** The extra CA to trust for `url` (see caFileFor), read; null when there is none. */
export async function extraCaFor(env: Record<string, string | undefined>, paths: JitsshPaths, url: string): Promise<ExtraCa | null> {
  const file = caFileFor(env, await readConfig(paths), url)
  return file === undefined ? null : readCaFile(file)
}

function sameOrigin(server: string, origin: string): boolean {
  try {
    const a = new URL(server)
    const b = new URL(origin)
    // The tunnel's wss:// is the same server as its https://.
    const scheme = (protocol: string) => (protocol === 'wss:' ? 'https:' : protocol === 'ws:' ? 'http:' : protocol)
    return scheme(a.protocol) === scheme(b.protocol) && a.host === b.host
  } catch {
    return false
  }
}

/** Node's (OpenSSL's) verification codes, in words a person can act on. */
const TLS_CODES: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a CA this machine does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is signed by a CA this machine does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is signed by a CA this machine does not trust',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is signed by a CA this machine does not trust',
  CERT_UNTRUSTED: 'its certificate is not trusted',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: "its certificate is not valid yet (check this machine's clock)",
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another host name',
  CERT_REVOKED: 'its certificate has been revoked',
}

/** The TLS problem in an error's cause chain, with its code, or null when the failure is not about TLS trust. */
export function tlsProblem(error: unknown): { code: string; words: string } | null {
  let e: unknown = error
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== undefined && Object.hasOwn(TLS_CODES, code)) return { code, words: TLS_CODES[code]! }
    e = e.cause
  }
  return null
}

/** ERR_TLS for a TLS failure to `origin` (a private CA without --ca-file, an expired or misnamed certificate). */
export function tlsError(origin: string, problem: { code: string; words: string }, caFile: string | undefined, cause: unknown): JitsshError {
  const untrusted = /CA|self-signed|not trusted/.test(problem.words)
  const hint = !untrusted
    ? 'fix the server\'s certificate, or the URL if it names another host'
    : caFile !== undefined
      ? `${caFile} does not hold the CA that signed it: give the right file to jitssh login --ca-file (or JITSSH_CA_FILE)`
      : 'if the server uses a private CA: jitssh login --ca-file CA.pem (or set JITSSH_CA_FILE, or NODE_EXTRA_CA_CERTS for every Node program)'
  return new JitsshError('ERR_TLS', `TLS: cannot trust ${origin}: ${problem.words} (${problem.code})`, { cause, hint })
}
