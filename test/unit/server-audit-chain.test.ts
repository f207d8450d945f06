// The audit chain's hashes, pure: rows written before the chain was keyed (plain SHA-256) stay verifiable
// and the keyed rows continue their chain; a plain row after a keyed one, a row under another key, and an
// edited row are each named; checkpoints sign and verify, and an altered one is refused.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, checkAuditChain, plainAuditHash, sealAuditRecord, type ChainPosition } from '../../src/server/audit/audit-chain.js'
import { chainKeyOf, checkpointKeyOf } from '../../src/server/audit/audit-keys.js'
import { readCheckpoint, signCheckpoint } from '../../src/server/audit/checkpoint.js'
import type { AuditDraft, AuditRecord } from '../../src/server/store/store.js'

const key = chainKeyOf(randomBytes(32))
const NOW = Date.UTC(2030, 0, 1)
const draft = (index: number): AuditDraft => ({ type: 'test.event', user: `u${index}@example.com`, sessionId: null, host: null, outcome: 'ok', detail: { index } })

/** A row as the server sealed them before audit_key existed. */
function plainRecord(index: number, previous: AuditRecord | undefined): AuditRecord {
  const unsealed = { ...draft(index), seq: (previous?.seq ?? 0) + 1, time: new Date(NOW + index).toISOString(), prevHash: previous?.hash ?? GENESIS_HASH }
  return { ...unsealed, hash: plainAuditHash(unsealed) }
}

/** `plain` old rows, then `keyed` rows sealed with `key`. */
function chain(plain: number, keyed: number): AuditRecord[] {
  const records: AuditRecord[] = []
  for (let i = 0; i < plain + keyed; i++) {
    const previous = records.at(-1)
    records.push(i < plain ? plainRecord(i, previous) : sealAuditRecord(draft(i), previous, NOW + i, key))
  }
  return records
}

const start = (): ChainPosition => ({ previous: undefined, keyedFrom: undefined })

describe('the keyed audit chain', () => {
  it('verifies rows from before the key, then the keyed rows that continue their chain', () => {
    const position = start()
    expect(checkAuditChain(chain(3, 4), position, key)).toEqual({ verified: 7, problem: undefined })
    expect(position.keyedFrom).toBe(4)
  })

  it('names a plain SHA-256 row after keyed rows: someone without the key re-hashed it', () => {
    const records = chain(0, 5)
    const forged = { ...records[3]!, user: 'mallory@example.com' }
    records[3] = { ...forged, hash: plainAuditHash(forged) }
    expect(checkAuditChain(records, start(), key)).toMatchObject({ verified: 3, problem: { seq: 4, problem: expect.stringMatching(/^a plain SHA-256 row after keyed rows \(keyed from seq 1\)/) } })
  })

  it('names a row sealed under another key, and a keyed row whose content changed', () => {
    const other = chain(0, 3)
    other[2] = sealAuditRecord(draft(2), other[1], NOW, chainKeyOf(randomBytes(32)))
    expect(checkAuditChain(other, start(), key).problem).toMatchObject({ seq: 3, problem: expect.stringMatching(/^sealed with another audit key \(id [0-9a-f]{16}; keys_dir\/audit_key is /) })

    const edited = chain(2, 3)
    edited[3] = { ...edited[3]!, outcome: 'denied' }
    expect(checkAuditChain(edited, start(), key)).toMatchObject({ verified: 3, problem: { seq: 4, problem: expect.stringMatching(/^content does not match its keyed hash/) } })
  })
})

describe('checkpoints', () => {
  const signing = checkpointKeyOf(generateKeyPairSync('ed25519').privateKey)

  it('sign the head and verify with the public key; any change is refused', () => {
    const checkpoint = signCheckpoint({ seq: 42, hash: 'hmac-sha256:0123456789abcdef:' + 'a'.repeat(64) }, NOW, signing)
    expect(readCheckpoint(JSON.stringify(checkpoint), signing)).toEqual({ ok: true, checkpoint })
    expect(readCheckpoint(JSON.stringify({ ...checkpoint, seq: 41 }), signing)).toEqual({ ok: false, seq: 41, reason: 'the signature does not verify: the checkpoint was forged or altered' })
    const otherKey = checkpointKeyOf(generateKeyPairSync('ed25519').privateKey)
    expect(readCheckpoint(JSON.stringify(checkpoint), otherKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^signed by another key/) })
    expect(readCheckpoint('{"type":"jitssh.audit.checkpoint"', signing)).toMatchObject({ ok: false, reason: 'not JSON' })
  })
})
