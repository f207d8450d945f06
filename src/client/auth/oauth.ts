// OAuth 2.0 calls of the public client `jitssh-cli`: PKCE (RFC 7636), code exchange, refresh with
// rotation, revocation (RFC 7009). Errors keep the OAuth `error` so callers can tell invalid_grant apart.
import { createHash, randomBytes } from 'node:crypto'
import { CLIENT_ID, type TokenResponse } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, requestJson } from '../http.js'
import { REVOCATION_ANSWER, TOKEN_ANSWER, type Discovery } from '../server-answers.js'

export interface Pkce {
  verifier: string
  challenge: string
}

export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function randomState(): string {
  return randomBytes(16).toString('base64url')
}

export function clientId(discovery: Discovery): string {
  return discovery.jitssh.client_id || CLIENT_ID
}

/** POST to the token endpoint; OAuth errors come back as HttpStatusError with `errorName`. */
export async function tokenRequest(ctx: ClientContext, discovery: Discovery, form: Record<string, string>): Promise<TokenResponse> {
  return requestJson(ctx, discovery.token_endpoint, { answer: TOKEN_ANSWER, form: { client_id: clientId(discovery), ...form } })
}

/** The refresh token is gone (used, expired, revoked): the person must log in again. */
export function isSessionGone(error: unknown): boolean {
  return error instanceof HttpStatusError && (error.errorName === 'invalid_grant' || error.status === 401)
}

export async function refreshTokens(ctx: ClientContext, discovery: Discovery, refreshToken: string): Promise<TokenResponse> {
  return tokenRequest(ctx, discovery, { grant_type: 'refresh_token', refresh_token: refreshToken })
}

export async function revokeToken(ctx: ClientContext, discovery: Discovery, token: string): Promise<void> {
  await requestJson(ctx, discovery.revocation_endpoint, {
    answer: REVOCATION_ANSWER,
    form: { client_id: clientId(discovery), token, token_type_hint: 'refresh_token' },
  })
}
