import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { Explanation, HostList } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { authenticateBearer } from '../http/bearer-auth.js'
import { requestedHost } from '../http/request-fields.js'
import { isUnixAccountName } from './principals.js'
import { requestCommand } from './access.js'
import { decideAccess, type AccessDecision, type UsableGrant } from './policy.js'
import type { SessionRow } from '../store/store.js'

export type ExplainDeps = Uses<'accessTokens' | 'config' | 'now' | 'requests' | 'sessions'>

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * "Why can't I?" for the caller only: `GET /v1/policy/explain?host=H[&login=L]` answers with the decision for
 * their own identity, now, from their address, and their own rules' answers (rules that are not theirs are
 * left out: nobody learns another person's access). `GET /v1/hosts`: the targets they may reach now.
 */
export function registerExplainRoutes(app: FastifyInstance, ctx: ExplainDeps): void {
  const decide = (session: SessionRow, host: string, sourceIp: string, grants: readonly UsableGrant[], login?: string): AccessDecision =>
    decideAccess(ctx.config.policy, {
      identity: session.identity, host, at: ctx.now(), sourceIp, auth: session.auth ?? { time: session.createdAt, method: 'password' }, grants,
      ...(login !== undefined ? { login } : {}),
    }, ctx.config.certificates)
  const until = (session: SessionRow, decision: AccessDecision): string => iso(Math.min(session.expiresAt, decision.allowed && decision.until !== undefined ? decision.until : Infinity))

  app.get<{ Querystring: { host?: unknown; login?: unknown } }>('/v1/policy/explain', async (request): Promise<Explanation> => {
    const { session } = await authenticateBearer(ctx, request)
    const host = requestedHost(request.query.host)
    const login = request.query.login === undefined || request.query.login === '' ? undefined : request.query.login
    if (login !== undefined && (typeof login !== 'string' || !isUnixAccountName(login))) throw new JitsshError('ERR_BAD_REQUEST', 'login must be a unix account name')
    const decision = decide(session, host, request.ip, await ctx.requests.grantsFor(session.identity, ctx.now()), login)
    const own = decision.checks.filter((check) => check.outcome !== 'not this person')
    const common = { host, login: login ?? null, target: ctx.config.targets.has(host), rules: own }
    if (decision.allowed) {
      return {
        ...common, allowed: true, rule: decision.rule, logins: decision.principals, max_ttl_seconds: Math.floor(decision.ttlMs / 1000), until: until(session, decision),
        ...(decision.grantId ? { grant: decision.grantId } : {}),
      }
    }
    const ask = requestCommand(decision, host)
    return { ...common, allowed: false, reason: decision.reason, code: decision.code, step_up: decision.stepUp, ...(ask ? { request_command: ask } : {}) }
  })

  app.get('/v1/hosts', async (request): Promise<HostList> => {
    const { session } = await authenticateBearer(ctx, request)
    const hosts: HostList['hosts'] = []
    const grants = await ctx.requests.grantsFor(session.identity, ctx.now())
    for (const host of [...ctx.config.targets.keys()].sort()) {
      const decision = decide(session, host, request.ip, grants)
      if (decision.allowed) {
        hosts.push({ host, status: 'allowed', logins: decision.principals, until: until(session, decision), ...(decision.grantId ? { grant: decision.grantId } : {}) })
      } else if (decision.requestable.length > 0) {
        hosts.push({ host, status: 'on request', logins: decision.requestable[0]!.logins, until: null, request_command: requestCommand(decision, host)! })
      } else {
        // The condition of the person's own rule that fails now (the host and the person go without saying here).
        const failed = decision.checks.find((check) => check.effect === 'allow' && check.outcome === 'condition failed')
        if (failed) hosts.push({ host, status: 'not now', logins: [], until: null, reason: failed.detail ?? decision.reason })
      }
    }
    return { hosts }
  })
}
