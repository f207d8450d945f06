// ~/.jitssh/config.json: the default server and what we remember per server (discovery, which credential
// store holds its refresh token, who is logged in).
import type { Discovery } from '../server-answers.js'
import type { AutomationLogin } from '../auth/automation.js'
import { ensurePrivateDir, readJsonOrNull, writeFileAtomic } from './atomic-files.js'
import type { JitsshPaths } from './paths.js'

export type CredentialStoreKind = 'keychain' | 'file'

export interface ServerRecord {
  /** What the client uses of the server's discovery document (checked again when read). */
  discovery?: Discovery
  credential_store?: CredentialStoreKind
  /** A PEM file of CA certificates to trust for this server (`jitssh login --ca-file`): every jitssh process reads it. */
  ca_file?: string
  /** What holds it, as `jitssh status` names it: `Secret Service`, `macOS Keychain`, or the file's path. */
  credential_backend?: string
  /** The subject (user) last logged in at this server. */
  subject?: string
  email?: string
  /** Logged in without a person (a service account): how to authenticate again; no refresh token is kept. */
  automation?: AutomationLogin
  /**
   * Set when the session ended without a logout (the server refused a refresh: expired, revoked; or the stored
   * login vanished, e.g. from a keychain that forgets): remembered, so that ssh-gen on a terminal logs in
   * again and everything else says "your session has ended" rather than "not logged in". Cleared by a login
   * and by a logout.
   */
  session_ended?: { at: string; reason: string }
}

export interface ClientConfig {
  version: 1
  default_server?: string
  servers: Record<string, ServerRecord>
  /** Set once the "no keychain, using a file" warning was shown. */
  file_store_warned?: boolean
}

export async function readConfig(paths: JitsshPaths): Promise<ClientConfig> {
  const parsed = await readJsonOrNull<Partial<ClientConfig>>(paths.config)
  const servers = parsed && typeof parsed.servers === 'object' && parsed.servers !== null ? parsed.servers : {}
  return { ...parsed, version: 1, servers }
}

/** Read-modify-write. Callers that may race (login, refresh) hold the server's session lock. */
export async function updateConfig(paths: JitsshPaths, change: (config: ClientConfig) => void): Promise<ClientConfig> {
  await ensurePrivateDir(paths.home)
  const config = await readConfig(paths)
  change(config)
  await writeFileAtomic(paths.config, `${JSON.stringify(config, null, 2)}\n`, 0o600)
  return config
}
