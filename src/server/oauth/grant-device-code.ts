import type { FastifyRequest } from 'fastify'
import type { DeviceAuthorizationResponse, TokenResponse } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import type { TokenParams } from './grant-authorization-code.js'
import { randomToken, sha256Hex } from './secrets.js'
import { issueTokenResponse } from './token-issuer.js'
import { formatUserCode, generateUserCode } from './user-code.js'
import { accountDisabledReason } from './refused-login.js'

export type DeviceGrantDeps = Uses<'audit' | 'config' | 'now' | 'publicUrl' | 'sessions' | 'accessTokens', 'oauth' | 'users'>

/** RFC 8628 §3.5: each `slow_down` adds 5 s to the interval for this and later polls. */
const SLOW_DOWN_STEP_SECONDS = 5
/** Timers may fire a few ms early; a poll this close to the interval still counts as on time. */
const POLL_TOLERANCE_MS = 100

/** `POST /device_authorization` (RFC 8628 §3.1–3.2). */
export async function startDeviceAuthorization(ctx: DeviceGrantDeps, clientId: string, request: FastifyRequest): Promise<DeviceAuthorizationResponse> {
  const deviceCode = randomToken(32)
  const now = ctx.now()
  const interval = ctx.config.oauth.devicePollIntervalSeconds
  for (let attempt = 0; ; attempt++) {
    const userCode = generateUserCode()
    try {
      await ctx.store.oauth.insertDeviceCode({
        deviceCodeHash: sha256Hex(deviceCode), userCode, clientId, createdAt: now, expiresAt: now + ctx.config.oauth.deviceCodeTtlMs,
        intervalSeconds: interval, lastPolledAt: null, status: 'pending', identity: null, auth: null, decidedAt: null,
        requesterIp: request.ip, requesterUserAgent: (request.headers['user-agent'] ?? '').slice(0, 300) || null, sessionId: null,
      })
      const verificationUri = `${ctx.publicUrl()}/device`
      return {
        device_code: deviceCode,
        user_code: formatUserCode(userCode),
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${formatUserCode(userCode)}`,
        expires_in: Math.floor(ctx.config.oauth.deviceCodeTtlMs / 1000),
        interval,
      }
    } catch (error) {
      // A user-code collision (UNIQUE): draw again; anything else is a real error.
      if (attempt >= 4 || !/UNIQUE/i.test(String((error as Error).message))) throw error
    }
  }
}

/** `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–3.5). */
export async function pollDeviceCode(ctx: DeviceGrantDeps, params: TokenParams, request: FastifyRequest): Promise<TokenResponse> {
  if (!params.device_code) throw new OAuthError('invalid_request', 'device_code is required')
  const deviceCodeHash = sha256Hex(params.device_code)
  const row = await ctx.store.oauth.getDeviceCode(deviceCodeHash)
  if (!row || row.clientId !== params.client_id) throw new OAuthError('invalid_grant', 'device code is not valid')
  const now = ctx.now()
  if (row.expiresAt <= now) throw new OAuthError('expired_token', 'the device code has expired; start the login again')
  if (row.status === 'consumed') throw new OAuthError('invalid_grant', 'device code was already used')

  if (row.lastPolledAt !== null && now - row.lastPolledAt < row.intervalSeconds * 1000 - POLL_TOLERANCE_MS) {
    const interval = row.intervalSeconds + SLOW_DOWN_STEP_SECONDS
    await ctx.store.oauth.recordDevicePoll(deviceCodeHash, now, interval)
    throw new OAuthError('slow_down', `polling too fast: wait ${interval} seconds between requests`)
  }
  await ctx.store.oauth.recordDevicePoll(deviceCodeHash, now, row.intervalSeconds)

  if (row.status === 'pending') throw new OAuthError('authorization_pending', 'waiting for the user to approve the device')
  // A denial with an identity is a person the sign-in page refused (refused-login.ts): say why, not "denied".
  if (row.status === 'denied' && row.identity && (await ctx.store.users.isDisabled(row.identity.email))) {
    throw new OAuthError('access_denied', accountDisabledReason(row.identity.email))
  }
  if (row.status === 'denied' || !row.identity) throw new OAuthError('access_denied', 'the user denied the device')

  const session = await ctx.sessions.create(row.identity, row.auth, {
    grant: 'device_code',
    clientIp: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  })
  if (!(await ctx.store.oauth.consumeDeviceCode(deviceCodeHash, session.id))) {
    await ctx.sessions.revoke(session.id, 'device code raced', { user: row.identity.email })
    throw new OAuthError('invalid_grant', 'device code was already used')
  }
  const response = await issueTokenResponse(ctx, session, row.clientId)
  await ctx.audit.record({
    type: 'token.issue', outcome: 'ok', user: row.identity.email, sessionId: session.id,
    detail: { grant: 'device_code', ip: request.ip, expires_at: new Date(session.expiresAt).toISOString() },
  })
  return response
}
