// One jitssh line per failure. For one connection ssh runs ssh-gen (Match exec) and then the ProxyCommand, and
// both usually meet the same failure (not logged in, server down, host denied): ssh-gen, which runs first,
// leaves a note `~/.jitssh/failures/<host>.json` naming the ssh process and what failed; the ProxyCommand of
// that same ssh, failing the same way, stays silent. The ssh process is found through the parent process
// (ssh runs both through the user's shell, which may or may not exec the command: then the grandparent).
import { childProcess } from '../../shared/child-process.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir, readJsonOrNull, removeFile, writeFileAtomic } from './atomic-files.js'
import type { JitsshPaths } from './paths.js'

/** A note older than this is about another connection, whatever its process id says. */
const NOTE_TTL_MS = 60_000

interface FailureNote {
  code: string
  ssh_pid: number
  at: number
}

const notePath = (paths: JitsshPaths, host: string): string => join(paths.home, 'failures', `${host}.json`)

/** The command name of a process, or '' when it cannot be known. */
function commandOf(pid: number, platform: NodeJS.Platform): string {
  try {
    if (platform === 'linux') return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    if (platform === 'win32') return ''
    return childProcess().execFileSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8', timeout: 2_000 }).trim().split('/').pop() ?? ''
  } catch {
    return ''
  }
}

function parentOf(pid: number, platform: NodeJS.Platform): number | null {
  try {
    if (platform === 'linux') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || null
    }
    if (platform === 'win32') return null
    return Number(childProcess().execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', timeout: 2_000 }).trim()) || null
  } catch {
    return null
  }
}

/** The pid of the ssh that runs this process (its parent, or the shell's parent), or null when ssh is not above us. */
export function sshProcess(ppid: number, platform: NodeJS.Platform): number | null {
  if (/^ssh(\.exe)?$/.test(commandOf(ppid, platform))) return ppid
  const grandparent = parentOf(ppid, platform)
  return grandparent !== null && /^ssh(\.exe)?$/.test(commandOf(grandparent, platform)) ? grandparent : null
}

/** ssh-gen failed with `code` and said so: remember it for the ProxyCommand of the same ssh. */
export async function noteFailure(paths: JitsshPaths, host: string, code: string, sshPid: number | null, now: number): Promise<void> {
  if (sshPid === null) return
  try {
    await ensurePrivateDir(join(paths.home, 'failures'))
    await writeFileAtomic(notePath(paths, host), JSON.stringify({ code, ssh_pid: sshPid, at: now } satisfies FailureNote), 0o600)
  } catch {
    // best effort: the worst case is the same line twice
  }
}

/** Whether ssh-gen of this same ssh already explained a failure with `code` for `host` (the note is used up). */
export async function explainedAlready(paths: JitsshPaths, host: string, code: string, sshPid: number | null, now: number): Promise<boolean> {
  if (sshPid === null) return false
  const note = await readJsonOrNull<FailureNote>(notePath(paths, host)).catch(() => null)
  if (note === null || note.ssh_pid !== sshPid || note.code !== code || !(now - note.at < NOTE_TTL_MS && now >= note.at)) return false
  await removeFile(notePath(paths, host)).catch(() => false)
  return true
}
