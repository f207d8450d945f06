import { readFileSync } from 'node:fs'
import formbody from '@fastify/formbody'
import rateLimit from '@fastify/rate-limit'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { JitsshError, isJitsshError } from '../shared/errors.js'
import { TUNNEL_CLOSE } from '../shared/protocol.js'
import { registerAdminPageRoutes } from './admin/admin-page-routes.js'
import { registerAdminRoutes } from './admin/admin-routes.js'
import { registerServiceAccountRoutes } from './admin/service-account-routes.js'
import { AuditBudget } from './audit/audit-budget.js'
import { openAuditTrail } from './audit/audit-trail.js'
import { UnauthenticatedCallers } from './audit/unauthenticated-callers.js'
import { IssuerKeys, type IssuerKeysOptions } from './automation/issuer-keys.js'
import { registerTunnelRoute } from './bastion/tunnel-route.js'
import { TunnelSupervisor } from './bastion/tunnel-supervisor.js'
import { registerSignRoute } from './ca/sign-route.js'
import { loadServerKeys } from './ca/server-keys.js'
import type { Signer } from '../ssh/signer.js'
import { reloadConfig, type ReloadOutcome } from './config/reload.js'
import type { OidcIdentityConfig, ServerConfig } from './config/types.js'
import type { ServerKeys } from './ca/server-keys.js'
import type { ServerContext } from './context.js'
import { connectionTimeouts, limitConnectionsPerIp } from './http/connection-limits.js'
import { registerDiscoveryRoutes } from './http/discovery-routes.js'
import { OAuthError, installErrorHandlers } from './http/errors.js'
import { loggerOptions, OneLinePerRequest } from './http/logger-options.js'
import { installSecurityHeaders } from './http/security-headers.js'
import { SampledLog } from './logging/sampled-log.js'
import { BrowserSessions } from './identity/browser-session.js'
import { registerLocalLoginRoutes } from './identity/local-login-routes.js'
import { KnownDevices } from './identity/known-devices.js'
import { LoginThrottle } from './identity/login-throttle.js'
import { registerOidcLoginRoutes } from './identity/oidc-login-routes.js'
import { Identities } from './identity/identities.js'
import { registerLogoutRoutes } from './identity/logout-routes.js'
import { OidcRevalidation } from './identity/oidc-revalidation.js'
import { OidcUpstream } from './identity/oidc-upstream.js'
import { UpstreamSecrets } from './identity/upstream-secrets.js'
import { registerMetricsRoute } from './metrics/metrics-route.js'
import { ServerMetrics } from './metrics/server-metrics.js'
import { AccessTokens } from './oauth/access-token.js'
import { registerAuthorizeRoute } from './oauth/authorize-route.js'
import { registerDeviceRoutes } from './oauth/device-routes.js'
import { registerTokenRoutes } from './oauth/token-routes.js'
import { WebAssets } from './pages/assets.js'
import { registerAssetsRoutes } from './pages/assets-routes.js'
import { registerHomeRoutes } from './pages/home-routes.js'
import { registerRecordingRoutes } from './recordings/recording-routes.js'
import { registerKrlRoute } from './revocation/krl-route.js'
import { registerExplainRoutes } from './policy/explain-routes.js'
import { AccessRequests } from './requests/access-requests.js'
import { registerRequestPageRoutes } from './requests/request-page-routes.js'
import { registerRequestRoutes } from './requests/request-routes.js'
import { ReplicaLease } from './replicas/replica-lease.js'
import { Webhooks } from './requests/webhooks.js'
import { SessionService } from './sessions/session-service.js'
import { openStore } from './store/open-store.js'
import type { Store } from './store/store.js'
import { spawnNodePty } from './terminal/node-pty.js'
import { registerTerminalRoutes } from './terminal/terminal-routes.js'
import { TerminalService, type SpawnPty } from './terminal/terminal-service.js'

/** Request bodies larger than this are refused with 413 (sign requests and forms are tiny). */
export const BODY_LIMIT = 16 * 1024
/** Refusals of unauthenticated callers reach the log at most once per route per this long, with their count. */
const UNAUTHENTICATED_LOG_INTERVAL_MS = 60_000

export interface ServerDeps {
  /** The clock, Unix ms (tests move time forward). */
  now?: () => number
  /** Where JSON log lines go (default stderr). */
  logStream?: NodeJS.WritableStream
  /** A store to use instead of the configured one (it is then not closed by `close`). */
  store?: Store
  /** A signer for user certificates instead of keys_dir/user_ca (its public key must be the user CA's). */
  userCaSigner?: Signer
  /** Where `audit.checkpoints.stdout` writes (default: process.stdout). */
  stdout?: NodeJS.WritableStream
  /** Starts the browser terminal's ssh in a PTY (default: node-pty). */
  spawnPty?: SpawnPty
  /** How workload issuers' keys are fetched (default: the global fetch). */
  fetch?: typeof globalThis.fetch
  /** Timing of the workload issuers' key cache (tests shorten the refetch cooldown). */
  issuerKeys?: Pick<IssuerKeysOptions, 'refetchCooldownMs' | 'maxAgeMs' | 'timeoutMs'>
}

export interface JitsshServer {
  /** The base URL once listening (the configured public_url, else http://<bound address>). */
  readonly url: string
  /**
   * Reads the config file again (SIGHUP, POST /v1/admin/reload): a valid one applies to the next request and
   * to live tunnels at once (what it no longer allows closes); an invalid one is refused and logged with
   * the same errors as `check`, and the running configuration stays. Audited either way.
   */
  reload(by?: string | null): Promise<ReloadOutcome>
  listen(): Promise<string>
  /** Stops serving, writes the last audit checkpoint, closes the store; a second call waits for the first. */
  close(): Promise<void>
  readonly store: Store
  readonly context: ServerContext
  readonly app: FastifyInstance
}

/** A config error from what `key` names (a key file in keys_dir), with the config file and the key in front, as loadConfig's are. */
async function naming<T>(config: ServerConfig, key: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (isJitsshError(error, 'ERR_INVALID_CONFIG') && !error.message.startsWith(`${config.source}: `)) {
      throw new JitsshError('ERR_INVALID_CONFIG', `${config.source}: ${key}: ${error.message}`, { cause: error, ...(error.hint !== undefined ? { hint: error.hint } : {}) })
    }
    throw error
  }
}

export async function createServer(config: ServerConfig, deps: ServerDeps = {}): Promise<JitsshServer> {
  const now = deps.now ?? Date.now
  const loaded = await naming(config, 'keys_dir', () => loadServerKeys(config.keysDir))
  const keys = deps.userCaSigner ? { ...loaded, userCa: deps.userCaSigner } : loaded
  const store = deps.store ?? (await openStore(config.storage, { listenForRevocations: true, source: config.source }))
  const timeouts = connectionTimeouts(config.connections)
  const https = config.tls
    ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), ...timeouts.nodeServer, handshakeTimeout: timeouts.tlsHandshakeTimeout }
    : null
  const secureCookies = (config.publicUrl ?? '').startsWith('https:')

  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream ?? process.stderr),
    bodyLimit: BODY_LIMIT,
    trustProxy: config.behindTlsProxy ? config.trustedProxies : false,
    ...(https ? { https } : { http: timeouts.nodeServer }),
    requestTimeout: timeouts.requestTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    return503OnClosing: true,
    logController: new OneLinePerRequest(),
  }) as unknown as FastifyInstance

  let boundUrl: string | undefined
  const publicUrl = (): string => config.publicUrl ?? boundUrl ?? `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`
  const trail = await naming(config, 'keys_dir', () => openAuditTrail(config, store, { log: (fields, message) => app.log.warn(fields, message), stdout: deps.stdout ?? process.stdout, now })).catch(async (error: unknown) => {
    if (!deps.store) await store.close()
    throw error
  })
  const audit = trail.log
  // The running configuration, read at each use (so that a reload applies to the next request).
  const current = (): ServerConfig => ctx.config
  const oidc = config.identity.oidc ? buildOidc(config.identity.oidc, store, keys, now, (error, message) => app.log.warn({ err: error }, message)) : undefined
  const identities = new Identities(current, oidc?.revalidation)
  const sessions = new SessionService(store, audit, identities, config.sessions.lifetimeMs, now)
  const webhookLog = new SampledLog((fields, message) => app.log.warn(fields, message), UNAUTHENTICATED_LOG_INTERVAL_MS)
  const webhooks = new Webhooks(config.notifications.webhooks, () => publicUrl(), (message, fields) => webhookLog.note('webhooks', message, fields), now)
  const requests = new AccessRequests({
    store, audit, config: current, now,
    notify: (event, request, extra) => webhooks.notify(event, request, extra),
    onError: (error, message) => app.log.error({ err: error }, message),
  })
  const tunnels = new TunnelSupervisor(sessions, requests, current, now)
  const replica = new ReplicaLease({
    store: store.replicas, audit, heartbeatMs: config.storage.heartbeatMs, singleProcess: config.storage.kind === 'sqlite',
    tunnels: () => tunnels.recorded(),
    onLost: () => void tunnels.closeRecorded(TUNNEL_CLOSE.GOING_AWAY, 'the jitssh server was taken for dead by another replica and closed its tunnels: connect again'),
    warn: (fields, message) => app.log.warn(fields, message),
  })
  // Counted whether or not /metrics is served (it is registered below only when enabled).
  const metrics = new ServerMetrics({
    queries: store.admin, tunnels, now, checkpointSinks: trail.checkpointer.sinks,
    onError: (error) => app.log.warn({ err: error }, 'metrics: counting active sessions failed'),
  })
  audit.onRecorded((record) => metrics.countAuditEvent(record))
  const refusalLog = new SampledLog((fields, message) => app.log.warn(fields, message), UNAUTHENTICATED_LOG_INTERVAL_MS)
  const ctx: ServerContext = {
    config, store, audit, keys, now, publicUrl, sessions, identities, tunnels, replica, requests,
    browser: new BrowserSessions(store.sessions, identities, config.sessions.browserLifetimeMs, now, secureCookies),
    throttle: new LoginThrottle(store.throttles, config.rateLimits, now),
    knownDevices: new KnownDevices(keys.tokenSigning.privateKey, secureCookies, now),
    accessTokens: new AccessTokens(keys.tokenSigning, publicUrl, config.sessions.accessTokenTtlMs, now),
    reload: async () => ({ ok: false, error: 'the server is starting' }),
    unauthenticated: new UnauthenticatedCallers(audit, new AuditBudget(config.rateLimits.unauthenticatedAuditPerMinute, now), metrics, refusalLog),
    // Built just below, with ctx itself as its deps (it reads ctx.config at each use: a reload applies).
    terminals: undefined as unknown as TerminalService,
    assets: new WebAssets(),
    issuerKeys: new IssuerKeys({ now, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...deps.issuerKeys }),
  }

  ctx.terminals = new TerminalService(ctx, deps.spawnPty ?? spawnNodePty, (error, message) => app.log.error({ err: error }, message))

  await app.register(formbody, { bodyLimit: BODY_LIMIT })
  await app.register(websocket, { options: { maxPayload: 4 * 1024 * 1024, perMessageDeflate: false } })
  await app.register(rateLimit, {
    global: false,
    onExceeded: (request) => metrics.countRateLimited(request.url.split('?')[0] ?? ''),
    errorResponseBuilder: (request, context) => {
      const message = `too many requests; retry in ${Math.ceil(context.ttl / 1000)}s`
      const path = request.url.split('?')[0]
      return path === '/token' || path === '/device_authorization' || path === '/revoke'
        ? new OAuthError('slow_down', message, 429)
        : new JitsshError('ERR_RATE_LIMITED', message)
    },
  })
  installErrorHandlers(app, BODY_LIMIT)
  installSecurityHeaders(app, { https: https !== null || config.behindTlsProxy })

  registerDiscoveryRoutes(app, ctx)
  registerAuthorizeRoute(app, ctx)
  registerTokenRoutes(app, ctx)
  registerDeviceRoutes(app, ctx)
  if (oidc) registerOidcLoginRoutes(app, ctx, oidc)
  if (config.identity.local) registerLocalLoginRoutes(app, ctx)
  registerLogoutRoutes(app, ctx)
  registerSignRoute(app, ctx)
  registerTunnelRoute(app, ctx)
  registerAdminRoutes(app, ctx)
  registerServiceAccountRoutes(app, ctx)
  registerKrlRoute(app, ctx)
  registerExplainRoutes(app, ctx)
  registerRequestRoutes(app, ctx)
  registerRequestPageRoutes(app, ctx)
  registerHomeRoutes(app, ctx)
  registerTerminalRoutes(app, ctx)
  registerRecordingRoutes(app, ctx)
  registerAdminPageRoutes(app, ctx)
  registerAssetsRoutes(app, ctx.assets)
  if (config.metrics.enabled) registerMetricsRoute(app, config.metrics, metrics)
  // Behind a TLS proxy every connection is the proxy's: the proxy must cap its clients instead.
  if (!config.behindTlsProxy) {
    limitConnectionsPerIp(app.server, {
      perIp: config.connections.perIp,
      onRefused: (address) => {
        metrics.countConnectionRefused()
        refusalLog.note('connections', 'connections refused: the address holds connections.per_ip already', { ip: address, per_ip: config.connections.perIp })
      },
    })
  }

  const timers: NodeJS.Timeout[] = []
  const purge = async (): Promise<void> => {
    await store.purgeExpired(now(), now() - config.rateLimits.loginWindowMs)
    await store.recordings.purge(now() - ctx.config.recordings.retentionMs)
  }
  let closing: Promise<void> | undefined
  let listening = false
  ctx.reload = async (by = null) => {
    const outcome = reloadConfig(ctx.config)
    if (!outcome.ok) {
      app.log.error({ reason: outcome.error }, 'config reload refused; the running configuration stays')
      await audit.record({ type: 'config.reload', outcome: 'error', user: by, detail: { reason: outcome.error } })
      return outcome
    }
    ctx.config = outcome.config
    app.log.level = outcome.config.logLevel
    app.log.info({ changed: outcome.changed }, 'config reloaded')
    await audit.record({ type: 'config.reload', outcome: 'ok', user: by, detail: { changed: outcome.changed, rules: outcome.config.policy.length, targets: outcome.config.targets.size } })
    await ctx.tunnels.sweep()
    return outcome
  }
  return {
    reload: (by) => ctx.reload(by),
    get url() {
      return publicUrl()
    },
    store,
    context: ctx,
    app,
    async listen() {
      // Before the first tunnel: register, and close what dead processes left open (on SQLite: every earlier one).
      await replica.start()
      listening = true
      const address = await app.listen({ host: config.listen.host, port: config.listen.port })
      boundUrl = address.replace('://localhost', '://127.0.0.1')
      ctx.tunnels.start()
      requests.start()
      trail.checkpointer.start()
      timers.push(setInterval(() => void purge().catch((error: unknown) => app.log.warn({ err: error }, 'purging expired rows failed')), 60_000).unref())
      app.log.info({ url: publicUrl(), user_ca: keys.userCaLine }, 'jitssh-server listening')
      return publicUrl()
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer)
        requests.stop()
        await ctx.tunnels.stop('the jitssh server is shutting down (a restart or an upgrade): connect again in a moment')
        if (listening) await replica.stop().catch((error: unknown) => app.log.warn({ err: error }, 'recording this replica stopped failed'))
        await app.close()
        await trail.close()
        await webhooks.close(3_000)
        refusalLog.flush()
        webhookLog.flush()
        if (!deps.store) await store.close()
      })()
      return closing
    },
  }
}

/** The upstream provider and the re-checking of its people (identity.oidc). */
function buildOidc(settings: OidcIdentityConfig, store: Store, keys: ServerKeys, now: () => number, warn: (error: unknown, message: string) => void): { upstream: OidcUpstream; revalidation: OidcRevalidation; issuer: string } {
  const upstream = new OidcUpstream(settings, now)
  const revalidation = new OidcRevalidation(upstream, store.upstream, new UpstreamSecrets(keys.tokenSigning.privateKey), () => settings, now, warn)
  return { upstream, revalidation, issuer: settings.issuer }
}
