// GET {server}/.well-known/jitssh, checked (server-answers.ts), and the fields the client uses remembered in
// config.json so hot paths need not ask again.
import { JitsshError } from '../../shared/errors.js'
import type { ClientContext, FetchResponse } from '../context.js'
import { readConfig, updateConfig, type ClientConfig } from '../files/config-store.js'
import { HttpStatusError, requestJson } from '../http.js'
import { ANSWER_LIMITS, readDiscovery, type Discovery } from '../server-answers.js'
import type { JitsshPaths } from '../files/paths.js'

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

export async function fetchDiscovery(ctx: ClientContext, server: string, onResponse?: (response: FetchResponse) => void): Promise<Discovery> {
  let doc: unknown
  try {
    doc = await requestJson<unknown>(ctx, `${server}/.well-known/jitssh`, { answer: { ...ANSWER_LIMITS.discovery, read: (value) => value }, ...(onResponse ? { onResponse } : {}) })
  } catch (error) {
    if (error instanceof HttpStatusError && (error.code === 'ERR_NOT_FOUND' || error.code === 'ERR_SERVER')) {
      throw new JitsshError('ERR_SERVER', `${server} does not look like a jitssh server (${error.message})`, { cause: error, hint: 'check the --server URL' })
    }
    throw error
  }
  if (!isObject(doc) || !isObject(doc.jitssh)) {
    throw new JitsshError('ERR_SERVER', `${server} does not look like a jitssh server (no jitssh section in its discovery document)`, { hint: 'check the --server URL' })
  }
  return readDiscovery(server, doc)
}

/** The discovery document remembered in config.json, if it still passes the checks. */
export function rememberedDiscovery(config: ClientConfig, server: string): Discovery | undefined {
  const cached = config.servers[server]?.discovery
  if (cached === undefined) return undefined
  try {
    return readDiscovery(server, cached)
  } catch {
    return undefined // kept by an older jitssh, which kept whatever the server sent, or edited by hand
  }
}

/** The remembered discovery document, or a fresh one (then remembered). */
export async function getDiscovery(ctx: ClientContext, paths: JitsshPaths, server: string, options: { fresh?: boolean } = {}): Promise<Discovery> {
  const remembered = options.fresh === true ? undefined : rememberedDiscovery(await readConfig(paths), server)
  if (remembered !== undefined) return remembered
  const doc = await fetchDiscovery(ctx, server)
  await updateConfig(paths, (config) => {
    config.servers[server] = { ...config.servers[server], discovery: doc }
  })
  return doc
}
