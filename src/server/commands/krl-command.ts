import { loadServerKeys } from '../ca/server-keys.js'
import { loadConfig } from '../config/load-config.js'
import { buildRevocationKrl } from '../revocation/revocation-krl.js'
import { openStore } from '../store/open-store.js'
import { writeFileAtomically } from './atomic-file.js'
import type { Command } from 'commander'
import { action, configCommand, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

/**
 * `jitssh-server krl --config FILE --out FILE|-`: the KRL that `GET /v1/ssh/krl` serves, written atomically
 * (for a cron job feeding sshd's `RevokedKeys` on the server's own host; other hosts fetch the endpoint).
 */
export interface KrlOptions {
  config: string
  out: string
}

export function registerKrl(program: Command, cli: CliRun, run: CommandRun<KrlOptions> = krlCommand): void {
  configCommand(program, 'krl', "write the KRL of revoked certificates (as served at /v1/ssh/krl) for sshd's RevokedKeys, atomically")
    .requiredOption('--out <file>', "where to write it ('-' for stdout)")
    .action(action(cli, run))
}

export async function krlCommand(io: ServerCliIo, { config: configPath, out }: KrlOptions): Promise<number> {
  const config = loadConfig(configPath)
  const keys = await loadServerKeys(config.keysDir)
  const store = await openStore(config.storage, { listenForRevocations: false, source: config.source })
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
