import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { loadServerKeys } from '../ca/server-keys.js'
import { loadConfig } from '../config/load-config.js'
import { buildRevocationKrl } from '../revocation/revocation-krl.js'
import { openStore } from '../store/open-store.js'
import type { ServerCliIo } from './commands.js'

/** Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part: temp file, fsync, rename. */
export function writeFileAtomically(path: string, bytes: Buffer, mode = 0o644): void {
  const target = resolve(path)
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temp, 'wx', mode)
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(temp, target)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/**
 * `jitssh-server krl --config FILE --out FILE|-`: the KRL that `GET /v1/ssh/krl` serves, written atomically
 * (for a cron job feeding sshd's `RevokedKeys` on the server's own host; other hosts fetch the endpoint).
 */
export async function krlCommand(io: ServerCliIo, configPath: string, out: string): Promise<number> {
  const config = loadConfig(configPath)
  const keys = await loadServerKeys(config.keysDir)
  const store = await openStore(config.storage, { listenForRevocations: false })
  try {
    const krl = await buildRevocationKrl(store, keys.userCa.publicKey, Date.now())
    if (out === '-') {
      io.stdout.write(krl.bytes)
      return 0
    }
    writeFileAtomically(out, krl.bytes)
    io.stderr.write(`wrote ${out}: ${krl.revoked} revoked certificate${krl.revoked === 1 ? '' : 's'} (krl version ${krl.version})\n`)
    return 0
  } finally {
    await store.close()
  }
}
