// Calls of the server's API with the person's access token: refreshed silently, once more after a 401
// (withAccessToken), never a new login (these commands say "run: jitssh login" instead). Errors keep the
// server's message ("admin rights needed: ...", a policy's reason).
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from './context.js'
import { getDiscovery } from './auth/discovery.js'
import { checkEndpoint } from './auth/server-url.js'
import { resolveServer, withAccessToken } from './auth/tokens.js'
import { jitsshPaths } from './files/paths.js'
import { requestJson } from './http.js'

export interface ApiClient {
  server: string
  get<T>(path: string, query?: Record<string, string | undefined>): Promise<T>
  post<T>(path: string, body: unknown): Promise<T>
}

/** `area`: the person's own endpoints (`/v1/...`) or the admin API (discovery's admin_endpoint). */
export async function apiClient(ctx: ClientContext, explicitServer: string | undefined, area: 'person' | 'admin'): Promise<ApiClient> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicitServer)
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in to a jitssh server', { hint: 'run: jitssh login --server URL' })
  const discovery = await getDiscovery(ctx, paths, server)
  const endpoint = area === 'admin' ? discovery.jitssh.admin_endpoint || `${server}/v1/admin` : `${server}/v1`
  const base = checkEndpoint(server, endpoint, `${area} endpoint`).replace(/\/+$/, '')
  const call = <T>(path: string, init: { json?: unknown }): Promise<T> =>
    withAccessToken(ctx, paths, server, {}, (token) => requestJson<T>(ctx, `${base}/${path}`, { bearer: token, ...init }))
  return {
    server,
    get: (path, query = {}) => {
      const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined))
      return call(params.size > 0 ? `${path}?${params}` : path, {})
    },
    post: (path, body) => call(path, { json: body }),
  }
}
