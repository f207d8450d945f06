import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isJitsshError } from '../../shared/errors.js'
import type { RecordingInfo, RecordingList } from '../../shared/protocol.js'
import { requireAuditor } from '../admin/require-admin.js'
import type { Uses } from '../context.js'
import { randomToken } from '../oauth/secrets.js'
import { livePageCsp, PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { filterValues } from '../pages/filter-form.js'
import { RECORDING_FILTER_NAMES, renderPlayerPage, renderRecordingListPage } from '../pages/recording-pages.js'
import { signedInWithRole } from '../pages/signed-in-page.js'
import type { RecordingRow } from '../store/store.js'
import { castStream, findRecording, parseRecordingSearch, toRecordingInfo, type RecordingSearchParams } from './recording-query.js'

export type RecordingRouteDeps = Uses<'accessTokens' | 'assets' | 'audit' | 'browser' | 'config' | 'sessions', 'admin' | 'recordings'>

const CAST_TYPE = 'application/x-asciicast'

/**
 * Terminal recordings, for admins and auditors (`auditors: {users, groups}`); every read of a recording's
 * content is audited: `recording.view` (the player's fetch) and `recording.export` (the API).
 *   pages (browser session):  GET /recordings?user=&host=&since=&until=,  GET /recordings/:id (the player),
 *                             GET /recordings/:id/cast (what the player plays)
 *   API (access token):       GET /v1/admin/recordings?...  RecordingList,  GET /v1/admin/recordings/:id  RecordingInfo,
 *                             GET /v1/admin/recordings/:id/cast  the .cast file
 */
export function registerRecordingRoutes(app: FastifyInstance, ctx: RecordingRouteDeps): void {
  app.get<{ Querystring: RecordingSearchParams }>('/recordings', async (request, reply) => {
    const page = await signedInWithRole(ctx, request, reply, 'auditor')
    if (!page) return reply
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    const filters = filterValues(request.query, RECORDING_FILTER_NAMES)
    try {
      const rows = await ctx.store.recordings.list(await parseRecordingSearch(ctx, request.query))
      return reply.send(renderRecordingListPage({ nav: page.nav, filters, recordings: rows.map(toRecordingInfo) }))
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return reply.code(400).send(renderRecordingListPage({ nav: page.nav, filters, recordings: [], error: `${error.message}.` }))
    }
  })

  app.get<{ Params: { id: string } }>('/recordings/:id', async (request, reply) => {
    const page = await signedInWithRole(ctx, request, reply, 'auditor')
    if (!page) return reply
    let recording: RecordingRow
    try {
      recording = await findRecording(ctx.store.recordings, request.params.id)
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return reply.code(404).type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderMessagePage('No such recording', `${error.message}.`, { error: true }))
    }
    const nonce = randomToken(16)
    return reply.type('text/html; charset=utf-8').header('content-security-policy', livePageCsp(nonce, "'self'"))
      .send(renderPlayerPage({ recording: toRecordingInfo(recording), email: page.signedIn.identity.email, assets: { ...ctx.assets.page('player'), nonce } }))
  })

  app.get<{ Params: { id: string } }>('/recordings/:id/cast', async (request, reply) => {
    const page = await signedInWithRole(ctx, request, reply, 'auditor')
    if (!page) return reply
    const recording = await findRecording(ctx.store.recordings, request.params.id)
    await audited(request, 'recording.view', page.signedIn.identity.email, null, recording)
    return sendCast(reply, recording)
  })

  app.get<{ Querystring: RecordingSearchParams }>('/v1/admin/recordings', async (request): Promise<RecordingList> => {
    await requireAuditor(ctx, request)
    const rows = await ctx.store.recordings.list(await parseRecordingSearch(ctx, request.query))
    return { recordings: rows.map(toRecordingInfo) }
  })

  app.get<{ Params: { id: string } }>('/v1/admin/recordings/:id', async (request): Promise<RecordingInfo> => {
    await requireAuditor(ctx, request)
    return toRecordingInfo(await findRecording(ctx.store.recordings, request.params.id))
  })

  app.get<{ Params: { id: string } }>('/v1/admin/recordings/:id/cast', async (request, reply) => {
    const auth = await requireAuditor(ctx, request)
    const recording = await findRecording(ctx.store.recordings, request.params.id)
    await audited(request, 'recording.export', auth.session.identity.email, auth.session.id, recording)
    return sendCast(reply, recording)
  })

  /** Written before a byte of the recording goes out. */
  async function audited(request: FastifyRequest, type: 'recording.view' | 'recording.export', user: string, sessionId: string | null, recording: RecordingRow): Promise<void> {
    await ctx.audit.record({
      type, outcome: 'ok', user, sessionId, host: recording.host,
      detail: { recording_id: recording.id, recording_user: recording.userEmail, recording_sha256: recording.sha256, ip: request.ip },
    })
  }

  function sendCast(reply: FastifyReply, recording: RecordingRow): FastifyReply {
    return reply
      .type(CAST_TYPE)
      .header('content-disposition', `attachment; filename="${recording.id}.cast"`)
      .header('x-jitssh-recording-sha256', recording.sha256 ?? '')
      .send(castStream(ctx.store.recordings, recording.id))
  }
}
