import { loadServerKeys } from '../ca/server-keys.js'
import { loadConfig } from '../config/load-config.js'
import { buildRevocationKrl } from '../revocation/revocation-krl.js'
import { openStore } from '../store/open-store.js'
import { writeFileAtomically } from './atomic-file.js'
import type { ServerCliIo } from './commands.js'

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
