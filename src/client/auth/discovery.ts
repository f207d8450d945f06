// GET {server}/.well-known/jitssh, checked, and remembered in config.json so hot paths need not ask again.
import { JitsshError } from '../../shared/errors.js'
import type { DiscoveryDocument } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { readConfig, updateConfig } from '../files/config-store.js'
import { requestJson } from '../http.js'
import { ANSWER_LIMITS } from '../server-answers.js'
import type { JitsshPaths } from '../files/paths.js'
import { checkEndpoint } from './server-url.js'

export async function fetchDiscovery(ctx: ClientContext, server: string): Promise<DiscoveryDocument> {
  let doc: DiscoveryDocument
  try {
    doc = await requestJson<DiscoveryDocument>(ctx, `${server}/.well-known/jitssh`, { answer: ANSWER_LIMITS.discovery })
  } catch (error) {
    if (error instanceof JitsshError && (error.code === 'ERR_NOT_FOUND' || error.code === 'ERR_SERVER')) {
      throw new JitsshError('ERR_SERVER', `${server} does not look like a jitssh server (${error.message})`, { cause: error, hint: 'check the --server URL' })
    }
    throw error
  }
  if (typeof doc !== 'object' || doc === null || typeof doc.jitssh !== 'object' || doc.jitssh === null) {
    throw new JitsshError('ERR_SERVER', `${server} does not look like a jitssh server (no jitssh section in its discovery document)`, { hint: 'check the --server URL' })
  }
  const endpoints = {
    authorization_endpoint: checkEndpoint(server, doc.authorization_endpoint, 'authorization_endpoint'),
    token_endpoint: checkEndpoint(server, doc.token_endpoint, 'token_endpoint'),
    device_authorization_endpoint: checkEndpoint(server, doc.device_authorization_endpoint, 'device_authorization_endpoint'),
    revocation_endpoint: checkEndpoint(server, doc.revocation_endpoint, 'revocation_endpoint'),
    userinfo_endpoint: doc.userinfo_endpoint ? checkEndpoint(server, doc.userinfo_endpoint, 'userinfo_endpoint') : `${server}/v1/me`,
  }
  const jitssh = {
    ...doc.jitssh,
    sign_endpoint: checkEndpoint(server, doc.jitssh.sign_endpoint, 'sign_endpoint'),
    tunnel_endpoint: checkEndpoint(server, doc.jitssh.tunnel_endpoint, 'tunnel_endpoint'),
  }
  return { ...doc, ...endpoints, jitssh }
}

/** The remembered discovery document, or a fresh one (then remembered). */
export async function getDiscovery(ctx: ClientContext, paths: JitsshPaths, server: string, options: { fresh?: boolean } = {}): Promise<DiscoveryDocument> {
  if (options.fresh !== true) {
    const cached = (await readConfig(paths)).servers[server]?.discovery
    if (cached !== undefined) return cached
  }
  const doc = await fetchDiscovery(ctx, server)
  await updateConfig(paths, (config) => {
    config.servers[server] = { ...config.servers[server], discovery: doc }
  })
  return doc
}
