// The login ssh will use against the certificate's principals (ssh-gen --login %r): when the certificate does
// not name it, sshd would answer only "Permission denied (publickey)". Here the person hears which logins they
// may use instead, in one line; and when the policy grants that login now (it changed since the certificate
// was issued), a new certificate is issued first.
import { readFileSync } from 'node:fs'
import { JitsshError } from '../shared/errors.js'
import { readValidity } from '../ssh/cert-validity.js'
import { withAccessToken } from './auth/tokens.js'
import type { ClientContext } from './context.js'
import { certPaths, type JitsshPaths } from './files/paths.js'
import { principalAllows } from './files/cert-freshness.js'
import { requestJson } from './http.js'
import { EXPLANATION_ANSWER } from './person-answers.js'
import { requestHint } from './certificate-issue.js'
import { terminalSafe } from './terminal-text.js'

/** What a login may be called, as ssh would pass it: anything else is not checked here (ssh refuses it anyway). */
const LOGIN = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/

export function checkableLogin(login: string | undefined): string | undefined {
  return login !== undefined && LOGIN.test(login) ? login : undefined
}

/** The principals of the certificate on disk for `host` (host-bound ones as plain logins), or [] when none is readable. */
export function certificatePrincipals(paths: JitsshPaths, host: string): string[] {
  try {
    return readValidity(readFileSync(certPaths(paths, host).cert, 'utf8'))?.principals ?? []
  } catch {
    return []
  }
}

export function certificateAllows(paths: JitsshPaths, host: string, login: string): boolean {
  return principalAllows(certificatePrincipals(paths, host), login, host)
}

/** The policy's answer for this person, host and login (GET /v1/policy/explain): allowed, or why not. */
export async function explainLogin(ctx: ClientContext, paths: JitsshPaths, server: string, host: string, login: string) {
  const query = new URLSearchParams({ host, login })
  return withAccessToken(ctx, paths, server, {}, (token) => requestJson(ctx, `${server}/v1/policy/explain?${query}`, { answer: EXPLANATION_ANSWER, bearer: token }))
}

/** ERR_POLICY_DENIED: "you may log in to H as a, b, not as L", with the command that would work (or the request to ask). */
export function loginNotGranted(host: string, login: string, principals: string[], requestCommand?: string | null): JitsshError {
  const logins = [...new Set(principals.map((p) => (p.endsWith(`@${host}`) ? p.slice(0, -host.length - 1) : p)))].map(terminalSafe)
  const may = logins.length === 0 ? 'with no login' : `as ${logins.join(', ')}`
  const ask = requestHint(requestCommand === undefined || requestCommand === null ? undefined : `ask: ${requestCommand}`)
  const hint = ask ?? (logins.length > 0 ? `run: ssh ${logins[0]}@${host}${logins.length > 1 ? ` (or another of: ${logins.join(', ')})` : ''}` : `see: jitssh explain ${host}`)
  return new JitsshError('ERR_POLICY_DENIED', `you may log in to ${host} ${may}, not as ${terminalSafe(login)}`, { hint })
}
