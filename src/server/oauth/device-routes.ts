import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Uses } from '../context.js'
import { loginUrl } from '../identity/return-to.js'
import type { Identity } from '../identity/identity.js'
import { renderDeviceConfirmPage, renderDeviceEntryPage, renderDeviceResultPage } from '../pages/device-pages.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import type { DeviceCodeRow } from '../store/store.js'
import { formatUserCode, normalizeUserCode } from './user-code.js'

export type DeviceRouteDeps = Uses<'audit' | 'browser' | 'now' | 'throttle', 'oauth'>

interface DeviceForm {
  user_code?: unknown
  csrf_token?: unknown
  action?: unknown
}

/** The device approval page (RFC 8628 §3.3): sign in first, then confirm which device asks, then approve or deny. */
export function registerDeviceRoutes(app: FastifyInstance, ctx: DeviceRouteDeps): void {
  /** A pending, unexpired request for the code, counting misses against the IP's budget. */
  async function findPending(request: FastifyRequest, userCode: string | undefined): Promise<DeviceCodeRow | string> {
    if (!(await ctx.throttle.checkUserCode(request.ip))) return 'Too many wrong codes from this address; try again later.'
    const row = userCode ? await ctx.store.oauth.getDeviceCodeByUserCode(userCode) : undefined
    if (!row || row.status !== 'pending' || row.expiresAt <= ctx.now()) {
      await ctx.throttle.wrongUserCode(request.ip)
      return row && row.status !== 'pending' ? 'This code has already been used.' : 'That code is not valid or has expired. Check it and try again.'
    }
    return row
  }

  function html(reply: FastifyReply): FastifyReply {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
  }

  async function showCode(request: FastifyRequest, reply: FastifyReply, who: Identity, rawCode: unknown): Promise<FastifyReply> {
    const csrfToken = ctx.browser.csrfToken(request, reply)
    const userCode = normalizeUserCode(rawCode)
    if (rawCode === undefined || rawCode === '') return html(reply).send(renderDeviceEntryPage({ csrfToken, userCode: '', signedInAs: who.email }))
    const found = await findPending(request, userCode)
    if (typeof found === 'string') {
      return html(reply).code(400).send(renderDeviceEntryPage({ csrfToken, userCode: String(rawCode).slice(0, 20), signedInAs: who.email, error: found }))
    }
    return html(reply).send(renderDeviceConfirmPage({
      csrfToken,
      userCode: formatUserCode(found.userCode),
      signedInAs: who.email,
      clientId: found.clientId,
      requestedAt: new Date(found.createdAt).toISOString(),
      requesterIp: found.requesterIp ?? 'unknown',
      requesterUserAgent: found.requesterUserAgent ?? 'unknown',
    }))
  }

  const returnPath = (code: string | undefined): string => (code ? `/device?user_code=${formatUserCode(code)}` : '/device')

  app.get<{ Querystring: { user_code?: string } }>('/device', async (request, reply) => {
    const signedIn = await ctx.browser.current(request)
    const raw = typeof request.query.user_code === 'string' ? request.query.user_code : undefined
    if (!signedIn) return reply.code(302).header('location', loginUrl(returnPath(normalizeUserCode(raw)))).send()
    return showCode(request, reply, signedIn.identity, raw)
  })

  app.post<{ Body: DeviceForm }>('/device', async (request, reply) => {
    const form = request.body ?? {}
    if (!ctx.browser.verifyCsrf(request, form.csrf_token)) {
      return html(reply).code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Reload the page and try again.', { error: true }))
    }
    const userCode = normalizeUserCode(form.user_code)
    const signedIn = await ctx.browser.current(request)
    if (!signedIn) return reply.code(303).header('location', loginUrl(returnPath(userCode))).send()
    const who = signedIn.identity
    if (form.action !== 'approve' && form.action !== 'deny') return showCode(request, reply, who, form.user_code)

    const found = await findPending(request, userCode)
    if (typeof found === 'string') {
      return html(reply).code(400).send(renderDeviceEntryPage({ csrfToken: ctx.browser.csrfToken(request, reply), userCode: '', signedInAs: who.email, error: found }))
    }
    const approved = form.action === 'approve'
    const decided = await ctx.store.oauth.decideDeviceCode(found.userCode, approved ? 'approved' : 'denied', approved ? { identity: who, auth: signedIn.auth } : null, ctx.now())
    if (!decided) return html(reply).code(409).send(renderMessagePage('Already answered', 'This code has already been approved or denied.', { error: true }))
    await ctx.audit.record({
      type: 'device.decision', outcome: approved ? 'ok' : 'denied', user: who.email,
      detail: { decision: approved ? 'approve' : 'deny', requester_ip: found.requesterIp, requester_user_agent: found.requesterUserAgent, ip: request.ip },
    })
    return html(reply).send(renderDeviceResultPage(approved))
  })
}
