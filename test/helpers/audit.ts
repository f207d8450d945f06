/**
 * The audit chain's keys as a test reads them (the files in keys_dir, as `jitssh-server audit verify`
 * does), and a seal for appending to a store directly:
 *
 *   const keys = auditKeysOf(srv.configPath)
 *   await verifyAuditChain(srv.server.store, keys.chain)
 *   await store.audit.append(draft, now, sealWith(keys.chain))
 */
import { randomBytes } from 'node:crypto'
import { sealAuditRecord } from '../../src/server/audit/audit-chain.js'
import { chainKeyOf, loadAuditKeys, type AuditChainKey, type AuditKeys } from '../../src/server/audit/audit-keys.js'
import { loadConfig } from '../../src/server/config/load-config.js'
import type { AuditSeal } from '../../src/server/store/store.js'

/** The keys in the keys_dir of the config at `configPath` (created there if missing, like the server does). */
export function auditKeysOf(configPath: string): AuditKeys {
  return loadAuditKeys(loadConfig(configPath).keysDir, () => undefined)
}

export function sealWith(key: AuditChainKey): AuditSeal {
  return (draft, previous, now) => sealAuditRecord(draft, previous, now, key)
}

/** A chain key for stores a test opens without a keys_dir. */
export const TEST_CHAIN_KEY = chainKeyOf(randomBytes(32))
