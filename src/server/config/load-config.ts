import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LineCounter, parseDocument, visit, type Document } from 'yaml'
import { JitsshError } from '../../shared/errors.js'
import { isCidr, isLoopbackHost, parseHostPort } from './address.js'
import { checkTlsFiles } from './check-tls.js'
import { ConfigNode } from './config-node.js'
import { parseAudit } from './parse-audit.js'
import { parseConnections } from './parse-connections.js'
import { parseMetrics } from './parse-metrics.js'
import { parseNotifications } from './parse-notifications.js'
import { parsePolicyRule } from './parse-policy.js'
import { parseServiceAccounts } from './parse-service-accounts.js'
import { parseForbiddenPrincipals, parseIdentity, parseMemberList, parseSourceAddress, parseTargets } from './parse-sections.js'
import { parseStorage } from './parse-storage.js'
import type { ServerConfig } from './types.js'

const TOP_LEVEL_KEYS = [
  'public_url', 'listen', 'tls', 'behind_tls_proxy', 'trusted_proxies', 'storage', 'keys_dir', 'identity', 'sessions',
  'oauth', 'certificates', 'policy', 'service_accounts', 'targets', 'admins', 'auditors', 'recordings', 'rate_limits', 'bastion', 'metrics',
  'audit', 'connections', 'notifications', 'log_level',
] as const

/** Log levels a config may set (pino's names; `check` and the README list the same). */
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** Names proxy-addr understands besides addresses and CIDRs. */
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal']
/**
 * Aliases expanded at most: a config has no use for more, and a few nested ones (an "alias bomb") would
 * otherwise expand into billions of nodes.
 */
const MAX_ALIASES = 100

/**
 * Reads and validates a YAML config file: its values, then the files it names that are read at start (TLS).
 * Errors name the file, the key path and what is wrong.
 */
export function loadConfig(file: string): ServerConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new JitsshError('ERR_INVALID_CONFIG', `${file}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const config = parseConfigText(text, file)
  checkTlsFiles(config)
  return config
}

export function parseConfigText(text: string, file: string): ServerConfig {
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter })
  const firstError = document.errors[0]
  const notYaml = (offset: number | undefined, message: string): never => {
    const at = offset === undefined ? undefined : lineCounter.linePos(offset)
    throw new JitsshError('ERR_INVALID_CONFIG', `${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${message}`)
  }
  if (firstError) notYaml(firstError.pos[0], firstError.message.split('\n')[0]!)
  const root = new ConfigNode(file, toPlainValue(document, (offset, message) => notYaml(offset, message)), '')
  root.mapping()
  root.onlyKeys(TOP_LEVEL_KEYS)
  return parseRoot(root, dirname(resolve(file)))
}

/**
 * The document as plain values, or `fail`: at an alias without its anchor before it, or for aliases that
 * expand beyond MAX_ALIASES nodes (the yaml package throws a bare ReferenceError for both).
 */
function toPlainValue(document: Document, fail: (offset: number | undefined, message: string) => never): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_ALIASES })
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error
    if (!/Unresolved alias/i.test(error.message)) return fail(undefined, `its aliases expand to more than ${MAX_ALIASES} times the anchored values (a YAML alias bomb?)`)
    let at: number | undefined
    visit(document, {
      Alias(_key, node) {
        if (at === undefined && !node.resolve(document)) at = node.range?.[0]
      },
    })
    return fail(at, 'an alias (*name) without its anchor (&name) before it')
  }
}

function parseRoot(root: ConfigNode, baseDir: string): ServerConfig {
  const path = (node: ConfigNode, fallback?: string): string => resolve(baseDir, node.string(fallback))

  const listenNode = root.child('listen')
  const listen =
    parseHostPort(listenNode.string('127.0.0.1:8443')) ?? listenNode.fail('expected an address like "127.0.0.1:8443" or "[::1]:8443"')

  const tlsNode = root.child('tls').onlyKeys(['cert', 'key'])
  const tls = tlsNode.missing ? undefined : { cert: path(tlsNode.child('cert')), key: path(tlsNode.child('key')) }
  const behindTlsProxy = root.child('behind_tls_proxy').boolean(false)
  if (!tls && !behindTlsProxy && !isLoopbackHost(listen.host)) {
    listenNode.fail('plain HTTP is allowed on loopback only: configure tls {cert, key} or set behind_tls_proxy: true')
  }

  const publicUrl = parsePublicUrl(root.child('public_url'), { tls: tls !== undefined, behindTlsProxy, listenHost: listen.host })

  const sessions = root.child('sessions').onlyKeys(['lifetime', 'access_token_ttl', 'browser_lifetime'])
  const oauth = root.child('oauth').onlyKeys(['code_ttl', 'device_code_ttl', 'device_poll_interval'])
  const certs = root.child('certificates').onlyKeys(['default_ttl', 'backdate', 'source_address', 'direct_access', 'forbidden_principals'])
  const limits = root.child('rate_limits').onlyKeys([
    'login_failures_per_user', 'login_failures_per_ip', 'login_window', 'user_code_failures_per_ip',
    'token_per_minute', 'device_authorization_per_minute', 'login_posts_per_minute', 'sign_per_minute', 'tunnel_per_minute',
    'unauthenticated_audit_per_minute',
  ])
  const bastion = root.child('bastion').onlyKeys(['connect_timeout', 'keepalive'])

  const defaultTtlMs = certs.child('default_ttl').duration(3_600_000, { min: 60_000, max: 7 * 86_400_000 })
  const serviceAccounts = parseServiceAccounts(root.child('service_accounts'), baseDir)
  const accountNames = new Set(serviceAccounts.map((account) => account.name))
  const policyNode = root.child('policy')
  const policy = policyNode.list().map((rule, index) => parsePolicyRule(rule, index, defaultTtlMs, accountNames))
  // Access requests name their rule: two rules of one name would make a grant ambiguous.
  policy.forEach((rule, index) => {
    const other = policy.findIndex((candidate) => candidate.name === rule.name)
    if (other !== index && (rule.request || policy[other]!.request)) policyNode.list()[index]!.child('name').fail(`"${rule.name}" is also the name of policy[${other}]: a rule with request: needs a name of its own`)
  })

  const lifetimeMs = sessions.child('lifetime').duration(12 * 3_600_000, { min: 60_000, max: 30 * 86_400_000 })
  const targets = parseTargets(root.child('targets'))
  const directAccess = certs.child('direct_access').boolean(false)
  return {
    source: root.file,
    publicUrl,
    listen,
    tls,
    behindTlsProxy,
    trustedProxies: parseTrustedProxies(root.child('trusted_proxies')),
    storage: parseStorage(root.child('storage'), baseDir),
    keysDir: path(root.child('keys_dir'), 'keys'),
    identity: parseIdentity(root.child('identity'), lifetimeMs),
    sessions: {
      lifetimeMs,
      accessTokenTtlMs: sessions.child('access_token_ttl').duration(600_000, { min: 30_000, max: 3_600_000 }),
      browserLifetimeMs: sessions.child('browser_lifetime').duration(3_600_000, { min: 60_000, max: lifetimeMs }),
    },
    oauth: {
      codeTtlMs: oauth.child('code_ttl').duration(60_000, { min: 10_000, max: 600_000 }),
      deviceCodeTtlMs: oauth.child('device_code_ttl').duration(600_000, { min: 60_000, max: 1_800_000 }),
      devicePollIntervalSeconds: oauth.child('device_poll_interval').duration(5_000, { min: 1_000, max: 60_000 }) / 1000,
    },
    certificates: {
      defaultTtlMs,
      backdateMs: certs.child('backdate').duration(60_000, { max: 600_000 }),
      sourceAddress: certificateSourceAddress(certs.child('source_address'), targets, directAccess),
      directAccess,
      forbiddenPrincipals: parseForbiddenPrincipals(certs.child('forbidden_principals')),
    },
    policy,
    serviceAccounts,
    targets,
    admins: parseMemberList(root.child('admins')),
    auditors: parseMemberList(root.child('auditors')),
    recordings: { retentionMs: root.child('recordings').onlyKeys(['retention']).child('retention').duration(90 * 86_400_000, { min: 3_600_000, max: 3650 * 86_400_000 }) },
    rateLimits: {
      loginFailuresPerUser: limits.child('login_failures_per_user').integer(10, 1, 10_000),
      loginFailuresPerIp: limits.child('login_failures_per_ip').integer(50, 1, 100_000),
      loginWindowMs: limits.child('login_window').duration(15 * 60_000, { min: 1_000 }),
      userCodeFailuresPerIp: limits.child('user_code_failures_per_ip').integer(20, 1, 10_000),
      tokenPerMinute: limits.child('token_per_minute').integer(300, 1, 100_000),
      deviceAuthorizationPerMinute: limits.child('device_authorization_per_minute').integer(30, 1, 100_000),
      loginPostsPerMinute: limits.child('login_posts_per_minute').integer(60, 1, 100_000),
      signPerMinute: limits.child('sign_per_minute').integer(1200, 1, 1_000_000),
      tunnelPerMinute: limits.child('tunnel_per_minute').integer(3000, 1, 1_000_000),
      unauthenticatedAuditPerMinute: limits.child('unauthenticated_audit_per_minute').integer(120, 2, 100_000),
    },
    bastion: {
      connectTimeoutMs: bastion.child('connect_timeout').duration(10_000, { min: 100, max: 120_000 }),
      keepaliveMs: bastion.child('keepalive').duration(30_000, { min: 1_000, max: 600_000 }),
    },
    metrics: parseMetrics(root.child('metrics'), behindTlsProxy),
    audit: parseAudit(root.child('audit'), baseDir),
    connections: parseConnections(root.child('connections')),
    notifications: parseNotifications(root.child('notifications')),
    logLevel: root.child('log_level').oneOf(LOG_LEVELS, 'info'),
  }
}

function parsePublicUrl(
  node: ConfigNode,
  listen: { tls: boolean; behindTlsProxy: boolean; listenHost: string },
): string | undefined {
  if (node.missing) {
    if (listen.tls || listen.behindTlsProxy) node.fail('is required with tls or behind_tls_proxy (e.g. "https://access.example.com")')
    return undefined
  }
  let url: URL
  try {
    url = new URL(node.string())
  } catch {
    node.fail('expected a URL like "https://access.example.com"')
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    node.fail('expected only scheme, host and port (no path, query or credentials)')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    node.fail('must be https:// (http:// only for a loopback address)')
  }
  return url.origin
}

/** Whose X-Forwarded-For to believe: checked whether or not behind_tls_proxy is set, so that setting it later cannot fail at start. */
function parseTrustedProxies(node: ConfigNode): string[] {
  if (node.missing) return ['127.0.0.1', '::1']
  return node.list().map((item) => {
    const entry = item.string()
    if (!isCidr(entry) && !PROXY_NAMES.includes(entry)) item.fail(`expected an address or CIDR like "10.0.0.0/8" (or ${PROXY_NAMES.join(', ')}), got ${JSON.stringify(entry.slice(0, 80))}`)
    return entry
  })
}

const LOOPBACK_SOURCES = ['127.0.0.1/32', '::1/128']

/**
 * The `source-address` pinned into certificates: as configured; else loopback when every target is on
 * loopback (the bastion then connects from there); else none only with direct_access. Anything else would
 * let a certificate issued for one host log in to every host that accepts its principal, from anywhere.
 */
function certificateSourceAddress(node: ConfigNode, targets: ServerConfig['targets'], directAccess: boolean): string[] | undefined {
  const configured = parseSourceAddress(node)
  if (configured !== undefined || directAccess) return configured
  const remote = [...targets].find(([, address]) => !isLoopbackHost(address.host))
  if (remote === undefined) return LOOPBACK_SOURCES
  return node.fail(
    `is required: target ${remote[0]} (${remote[1].host}) is not on loopback. List the addresses the bastion connects to targets from ` +
      '(e.g. [10.0.0.2/32]), so that a certificate is useless except through the bastion; or set certificates.direct_access: true ' +
      'to let people reach targets directly (certificates then carry host-bound principals, login@host)',
  )
}
