// Calls of the server's admin API (`/v1/admin/...`, from discovery's admin_endpoint) with the person's
// access token: refreshed silently, once more after a 401 (withAccessToken), never a new login (admin
// commands say "run: jitssh login" instead). A 403 keeps the server's message ("admin rights needed: ...").
import { JitsshError } from '../../shared/errors.js'
import type { AuditPage } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { getDiscovery } from '../auth/discovery.js'
import { requestJson, requestText } from '../http.js'
import { jitsshPaths } from '../files/paths.js'
import { checkEndpoint } from '../auth/server-url.js'
import { resolveServer, withAccessToken } from '../auth/tokens.js'

export interface AdminClient {
  server: string
  get<T>(path: string, query?: Record<string, string | undefined>): Promise<T>
  /** GET of a body that is not JSON (a recording's .cast file). */
  text(path: string): Promise<string>
  post<T>(path: string, body: unknown): Promise<T>
}

export async function adminClient(ctx: ClientContext, explicitServer: string | undefined): Promise<AdminClient> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicitServer)
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in to a jitssh server', { hint: 'run: jitssh login --server URL' })
  const discovery = await getDiscovery(ctx, paths, server)
  const base = checkEndpoint(server, discovery.jitssh.admin_endpoint || `${server}/v1/admin`, 'admin_endpoint').replace(/\/+$/, '')
  const call = <T>(path: string, init: { json?: unknown }): Promise<T> =>
    withAccessToken(ctx, paths, server, {}, (token) => requestJson<T>(ctx, `${base}/${path}`, { bearer: token, ...init }))

  return {
    server,
    get: (path, query = {}) => {
      const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined))
      return call(params.size > 0 ? `${path}?${params}` : path, {})
    },
    text: (path) => withAccessToken(ctx, paths, server, {}, (token) => requestText(ctx, `${base}/${path}`, { bearer: token })),
    post: (path, body) => call(path, { json: body }),
  }
}

export interface AuditFilters {
  user?: string
  host?: string
  type?: string
  since?: string
  until?: string
  order?: 'asc' | 'desc'
}

/** Follows next_cursor until `limit` events are in hand or the search is exhausted. */
export async function fetchAuditEvents(client: AdminClient, filters: AuditFilters, limit: number): Promise<{ events: AuditPage['events']; more: boolean }> {
  const events: AuditPage['events'] = []
  let cursor: string | null = null
  do {
    const pageSize = Math.min(1000, limit - events.length)
    const page: AuditPage = await client.get<AuditPage>('audit', { ...filters, limit: String(pageSize), ...(cursor ? { cursor } : {}) })
    events.push(...page.events.slice(0, limit - events.length))
    cursor = page.next_cursor
  } while (cursor !== null && events.length < limit)
  return { events, more: cursor !== null }
}
