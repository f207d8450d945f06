// ~/.jitssh/known_hosts: one `@cert-authority * <host CA key> jitssh:<server>` line per server, so ssh
// trusts the hosts whose certificates that server's host CA signed. Other lines are kept as they are.
import { JitsshError } from '../../shared/errors.js'
import { ensurePrivateDir, readTextOrNull, writeFileAtomic } from './atomic-files.js'
import type { JitsshPaths } from './paths.js'

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|rsa-sha2-512|rsa-sha2-256|ssh-rsa) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/

/** `type base64` of a public key line from the network, or an error: nothing unchecked reaches the file. */
export function checkedKey(line: unknown, what: string): string {
  const match = typeof line === 'string' ? KEY_LINE.exec(line.trim()) : null
  if (match === null) throw new JitsshError('ERR_SERVER', `the server sent an invalid ${what}`)
  return `${match[1]} ${match[2]}`
}

const marker = (server: string) => ` jitssh:${server}`

export async function writeHostCa(paths: JitsshPaths, server: string, hostCaPublicKey: unknown): Promise<boolean> {
  const key = checkedKey(hostCaPublicKey, 'host CA key')
  const wanted = `@cert-authority * ${key}${marker(server)}`
  const existing = (await readTextOrNull(paths.knownHosts)) ?? ''
  const kept = existing.split('\n').filter((l) => l !== '' && !l.endsWith(marker(server)))
  const next = `${[...kept, wanted].join('\n')}\n`
  if (next === existing) return false
  await ensurePrivateDir(paths.home)
  await writeFileAtomic(paths.knownHosts, next, 0o644)
  return true
}

export async function removeHostCa(paths: JitsshPaths, server: string): Promise<void> {
  const existing = await readTextOrNull(paths.knownHosts)
  if (existing === null) return
  const kept = existing.split('\n').filter((l) => l !== '' && !l.endsWith(marker(server)))
  const next = kept.length ? `${kept.join('\n')}\n` : ''
  if (next !== existing) await writeFileAtomic(paths.knownHosts, next, 0o644)
}
