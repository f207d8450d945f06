// The admin API (`/v1/admin/...`, from discovery's admin_endpoint) through the person's API client, and
// the audit search's paging.
import type { AuditPage } from '../../shared/protocol.js'
import { apiClient, type ApiClient } from '../api-client.js'
import type { ClientContext } from '../context.js'
import { AUDIT_PAGE_ANSWER } from './admin-answers.js'

export type AdminClient = ApiClient

export function adminClient(ctx: ClientContext, explicitServer: string | undefined): Promise<AdminClient> {
  return apiClient(ctx, explicitServer, 'admin')
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
    const page: AuditPage = await client.get(AUDIT_PAGE_ANSWER, 'audit', { ...filters, limit: String(pageSize), ...(cursor ? { cursor } : {}) })
    events.push(...page.events.slice(0, limit - events.length))
    cursor = page.next_cursor
  } while (cursor !== null && events.length < limit)
  return { events, more: cursor !== null }
}
