// Which login a plain `ssh host` should use: the person's grants, as the server's policy answers for them
// (GET /v1/policy/explain for a host, GET /v1/hosts for a pattern's targets). With exactly one, the block sets
// `User`; with several, none is chosen for them (ssh-gen then names them when ssh uses another).
import { hostMatchesPattern } from '../../ssh/config.js'
import { readConfig } from '../files/config-store.js'
import { loadSession, readAccessToken } from '../auth/credentials.js'
import { withAccessToken } from '../auth/tokens.js'
import type { ClientContext } from '../context.js'
import type { JitsshPaths } from '../files/paths.js'
import { requestJson } from '../http.js'
import { EXPLANATION_ANSWER, HOST_LIST_ANSWER } from '../person-answers.js'
import type { Answer } from '../server-answers.js'
import type { HostList } from '../../shared/protocol.js'

export interface HostLogins {
  /** The logins the person may use there now (for a pattern: on any of its targets). */
  logins: string[]
  /** Set when that is exactly one login: the `User` for the block. */
  user?: string
}

/** A session for `server` on this machine (without asking anyone): only then is the server asked. */
export async function haveSession(ctx: ClientContext, paths: JitsshPaths, server: string): Promise<boolean> {
  if ((await readAccessToken(paths, server)) !== null) return true
  const record = (await readConfig(paths)).servers[server]
  return (await loadSession(ctx, paths, server, record?.credential_store).catch(() => null)) !== null
}

/** The logins per host (or pattern), from the server; throws what the server or the network said. */
export async function grantedLogins(ctx: ClientContext, paths: JitsshPaths, server: string, hosts: readonly string[]): Promise<Map<string, HostLogins>> {
  const result = new Map<string, HostLogins>()
  const get = <T>(answer: Answer<T>, path: string): Promise<T> =>
    withAccessToken(ctx, paths, server, {}, (token) => requestJson(ctx, `${server}/v1/${path}`, { answer, bearer: token }))
  let targets: HostList | undefined
  for (const host of hosts) {
    let logins: string[]
    if (/[*?]/.test(host)) {
      targets ??= await get(HOST_LIST_ANSWER, 'hosts')
      logins = [...new Set(targets.hosts.filter((t) => t.status === 'allowed' && hostMatchesPattern(t.host, host)).flatMap((t) => t.logins))]
    } else {
      const answer = await get(EXPLANATION_ANSWER, `policy/explain?${new URLSearchParams({ host })}`)
      logins = answer.allowed ? (answer.logins ?? []) : []
    }
    result.set(host, { logins, ...(logins.length === 1 ? { user: logins[0] } : {}) })
  }
  return result
}
