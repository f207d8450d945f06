// Terminal recordings from the admin API (admins and auditors): the list, and a recording as its .cast file
// (checked against the SHA-256 the server recorded when the terminal ended) or as plain text.
import { createHash } from 'node:crypto'
import { JitsshError } from '../../shared/errors.js'
import type { RecordingInfo } from '../../shared/protocol.js'
import { ANSWER_LIMITS } from '../server-answers.js'
import { RECORDING_ANSWER, RECORDING_LIST_ANSWER } from './admin-answers.js'
import type { AdminClient } from './api.js'
import { renderCastText } from '../recording-text.js'

export interface RecordingFilters {
  user?: string
  host?: string
  since?: string
  until?: string
}

export async function listRecordings(client: AdminClient, filters: RecordingFilters, limit: number): Promise<RecordingInfo[]> {
  const list = await client.get(RECORDING_LIST_ANSWER, 'recordings', { ...filters, limit: String(limit) })
  return list.recordings
}

/** The recording as `cast` (the file, byte for byte) or `text` (what the screen showed, escape sequences applied). */
export async function exportRecording(client: AdminClient, id: string, format: 'cast' | 'text'): Promise<string> {
  const path = `recordings/${encodeURIComponent(id)}`
  const info = await client.get(RECORDING_ANSWER, path)
  const cast = await client.text(ANSWER_LIMITS.recording, `${path}/cast`)
  if (info.sha256 !== null && createHash('sha256').update(cast, 'utf8').digest('hex') !== info.sha256) {
    throw new JitsshError('ERR_SERVER', `recording ${id} does not match the SHA-256 recorded when it ended (${info.sha256})`)
  }
  return format === 'cast' ? cast : renderCastText(cast)
}
