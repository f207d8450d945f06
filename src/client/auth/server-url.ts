// The --server URL: checked strictly, because it is written into ~/.ssh/config command lines and
// used as a key in ~/.jitssh files. https, or plain http to a loopback address only.
import { createHash } from 'node:crypto'
import { JitsshError } from '../../shared/errors.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** `https://access.example.com` or `https://host:8443/prefix` — no trailing slash, no query, no credentials. */
export function normalizeServerUrl(input: string): string {
  const usage = (why: string) => new JitsshError('ERR_USAGE', `invalid --server URL: ${why}`, { hint: 'use e.g. https://access.example.com' })
  if (input.length > 512 || /[\s\x00-\x1f\x7f'"`\\%$;|&<>]/.test(input)) throw usage('it contains characters a URL here may not have')
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw usage('not a URL')
  }
  if (url.username || url.password) throw usage('no user name or password in the URL')
  if (url.search || url.hash) throw usage('no query or fragment')
  if (url.protocol === 'http:') {
    if (!LOOPBACK.has(url.hostname)) throw usage('plain http is allowed for loopback addresses only; use https')
  } else if (url.protocol !== 'https:') {
    throw usage('must start with https://')
  }
  const path = url.pathname.replace(/\/+$/, '')
  if (!/^[A-Za-z0-9._~/-]*$/.test(path)) throw usage('unexpected characters in the path')
  return `${url.protocol}//${url.host}${path}`
}

/** A short, path-safe id for a server URL (file names under ~/.jitssh). */
export function serverId(server: string): string {
  return createHash('sha256').update(server).digest('hex').slice(0, 16)
}

/** An endpoint from discovery, resolved against the server URL; https/wss (or loopback http/ws) only. */
export function checkEndpoint(server: string, value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new JitsshError('ERR_SERVER', `the server's discovery document has no ${name}`, { hint: 'check the --server URL' })
  }
  const url = new URL(value, `${server}/`)
  const secure = url.protocol === 'https:' || url.protocol === 'wss:'
  const ok = secure || ((url.protocol === 'http:' || url.protocol === 'ws:') && LOOPBACK.has(url.hostname))
  if (!ok) throw new JitsshError('ERR_SERVER', `the server's ${name} is not https: ${url.origin}`)
  return url.toString()
}
