/**
 * Small HTTP helpers for the admin API tests: call `/v1/admin/...` with a token, sign a fresh key,
 * refresh a token, and ask `ssh-keygen -Q` whether a KRL revokes a certificate.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLIENT_ID, type SignResponse } from '../../src/shared/protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { runSshKeygen } from './sshd.js'

export interface ApiResult<T = Record<string, unknown>> {
  status: number
  body: T
}

/** GET (no body) or POST (with `body`) to `${url}/v1/admin/${path}` with a bearer token (null: none). */
export async function adminCall<T = Record<string, unknown>>(url: string, token: string | null, path: string, body?: unknown): Promise<ApiResult<T>> {
  const response = await fetch(`${url}/v1/admin/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as T }
}

/** `POST /v1/ssh/sign` for a fresh Ed25519 key. */
export async function signFor(url: string, token: string, hostname: string): Promise<ApiResult<SignResponse & { error?: string; message?: string }>> {
  const response = await fetch(`${url}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair('ssh-ed25519').publicKey, 'test'), hostname }),
  })
  return { status: response.status, body: (await response.json()) as SignResponse & { error?: string; message?: string } }
}

/** `grant_type=refresh_token`: the status and the OAuth body. */
export async function refreshWith(url: string, refreshToken: string): Promise<ApiResult<{ error?: string; error_description?: string; access_token?: string }>> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID }),
  })
  return { status: response.status, body: (await response.json()) as { error?: string; error_description?: string } }
}

/** `ssh-keygen -Q -f krl cert` for each certificate line: 'REVOKED' or 'ok', in order. */
export async function krlVerdicts(dir: string, krlPath: string, certificateLines: string[]): Promise<string[]> {
  const verdicts: string[] = []
  for (const [index, line] of certificateLines.entries()) {
    const path = join(dir, `query-${index}-${Math.random().toString(36).slice(2)}-cert.pub`)
    writeFileSync(path, `${line}\n`)
    const result = await runSshKeygen(['-Q', '-f', krlPath, path])
    const verdict = /: (REVOKED|ok)$/m.exec(result.stdout)?.[1]
    if (verdict === undefined) throw new Error(`ssh-keygen -Q gave no verdict: ${result.stdout}${result.stderr}`)
    verdicts.push(verdict)
  }
  return verdicts
}
