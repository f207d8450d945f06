// Calls of the server's API with the person's access token: refreshed silently, once more after a 401
// (withAccessToken), never a new login (these commands say "run: jitssh login" instead). Every answer is read
// as its `Answer` says (bounded, checked: server-answers.ts); errors keep the server's message ("admin rights
// needed: ...", a policy's reason), made safe for a terminal.
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from './context.js'
import { getDiscovery } from './auth/discovery.js'
import { resolveServer, withAccessToken } from './auth/tokens.js'
import { jitsshPaths } from './files/paths.js'
import { requestJson, requestText } from './http.js'
import type { Answer, AnswerLimit } from './server-answers.js'

export interface ApiClient {
  server: string
  /** GET `path` (under the area's endpoint), read as `answer` says. */
  get<T>(answer: Answer<T>, path: string, query?: Record<string, string | undefined>): Promise<T>
  post<T>(answer: Answer<T>, path: string, body: unknown): Promise<T>
  /** GET of a body that is not JSON (a recording's .cast file), read up to `limit`. */
  text(limit: AnswerLimit, path: string): Promise<string>
}

/** `area`: the person's own endpoints (`/v1/...`) or the admin API (discovery's admin_endpoint). */
export async function apiClient(ctx: ClientContext, explicitServer: string | undefined, area: 'person' | 'admin'): Promise<ApiClient> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicitServer)
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in to a jitssh server', { hint: 'run: jitssh login --server URL' })
  const discovery = await getDiscovery(ctx, paths, server)
  // Discovery's endpoints are checked where they come in (readDiscovery).
  const base = (area === 'admin' ? discovery.jitssh.admin_endpoint : `${server}/v1`).replace(/\/+$/, '')
  const call = <T>(answer: Answer<T>, path: string, init: { json?: unknown }): Promise<T> =>
    withAccessToken(ctx, paths, server, {}, (token) => requestJson<T>(ctx, `${base}/${path}`, { answer, bearer: token, ...init }))
  return {
    server,
    get: (answer, path, query = {}) => {
      const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined))
      return call(answer, params.size > 0 ? `${path}?${params}` : path, {})
    },
    post: (answer, path, body) => call(answer, path, { json: body }),
    text: (limit, path) => withAccessToken(ctx, paths, server, {}, (token) => requestText(ctx, `${base}/${path}`, { limit, bearer: token })),
  }
}
