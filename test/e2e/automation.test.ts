/**
 * Automation identities end to end (issue 14), with real parts only: a GitHub-Actions-shaped OIDC issuer on
 * loopback (jose-signed ID tokens, a JWKS, and an endpoint that mimics ACTIONS_ID_TOKEN_REQUEST_URL), the
 * real jitssh-server and sshd, the built `jitssh` and the real `ssh`.
 *
 * - `jitssh login --github-actions`, then a plain `ssh vm id` through the bastion as the service account.
 * - `jitssh agent --ssh-config` with 30 s certificates keeps 100 s of new ssh connections working while a
 *   reader loop checks that the key and the certificate on disk are always whole and belong together; an
 *   Ansible-style burst of 20 parallel ssh to 20 host aliases goes through the same directory; SIGTERM stops
 *   the agent with exit 0 and no temp file left.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { parsePrivateKey } from '../../src/ssh/keys.js'
import { ensureBuilt } from '../helpers/cli.js'
import { JITSSH_BIN, startStack, VM_HOST, type Stack } from '../helpers/stack.js'
import { runTool, SSH_PATH, type ToolResult } from '../helpers/sshd.js'
import { GITHUB_CLAIMS, startWorkloadIssuer, type WorkloadIssuer } from '../helpers/workload-issuer.js'

const AUDIENCE = 'https://access.example.com'
const LOGIN = userInfo().username
const NODES = Array.from({ length: 20 }, (_, i) => `n${String(i + 1).padStart(2, '0')}.nodes.example.com`)
let gha: WorkloadIssuer
let stack: Stack
let ghaEnv: Record<string, string>

beforeAll(async () => {
  await ensureBuilt()
  gha = await startWorkloadIssuer()
  stack = await startStack({
    hosts: [VM_HOST, 'db.example.com', ...NODES],
    // Every session arrives from the bastion's address: what target-setup writes, so 20 at once are not throttled.
    sshdConfig: ['MaxStartups 100:30:300'],
    policy: [{ name: 'deploys', service_accounts: ['deploy-bot'], hosts: ['*.example.com'], principals: [LOGIN], max_ttl: '10m' }],
    serverConfig: {
      service_accounts: [{
        name: 'deploy-bot', owner: 'platform@example.com', hosts: [VM_HOST, '*.nodes.example.com'], principals: [LOGIN], max_ttl: '30s',
        trusts: [{ name: 'gha-deploy', issuer: gha.url, audience: AUDIENCE, claims: { repository_id: GITHUB_CLAIMS.repository_id, repository_owner_id: GITHUB_CLAIMS.repository_owner_id } }],
      }],
    },
  })
  ghaEnv = { ACTIONS_ID_TOKEN_REQUEST_URL: gha.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: gha.requestToken }
}, 120_000)

afterAll(async () => {
  await Promise.allSettled([stack?.stop(), gha?.stop()])
})

async function auditOf(type: string): Promise<Array<{ user: string | null; host: string | null; detail: Record<string, unknown> }>> {
  return (await stack.server.server.store.audit.read(0, 1_000_000)).filter((event) => event.type === type)
}

describe('a CI job as a service account', { timeout: 240_000 }, () => {
  it('jitssh login --github-actions, then a real `ssh vm id` through the bastion', async () => {
    const login = await stack.jitssh(['login', '--github-actions', '--audience', AUDIENCE, '--server', stack.server.url], { env: ghaEnv })
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toContain('as service:deploy-bot')
    expect(gha.tokenRequests()).toBe(1)
    const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])
    expect(write.code, write.stderr).toBe(0)
    const ssh = await stack.ssh([VM_HOST, 'id'], { env: ghaEnv })
    expect(ssh.code, ssh.stderr).toBe(0)
    expect(ssh.stdout).toContain(`(${LOGIN})`)
    const [sign] = (await auditOf('cert.sign')).filter((event) => event.host === VM_HOST)
    expect(sign).toMatchObject({ user: 'service:deploy-bot', detail: { principals: [LOGIN], authenticated_by: 'trust:gha-deploy' } })
    expect((await auditOf('tunnel.open')).at(-1)).toMatchObject({ user: 'service:deploy-bot', host: VM_HOST })
  })

  it('jitssh agent with 30 s certificates keeps 100 s of new connections working; files always whole; 20 parallel ssh to 20 aliases; SIGTERM exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitssh-agent-'))
    const agent = spawn(process.execPath, [JITSSH_BIN, 'agent', '--out', dir, '--ssh-config'], {
      env: { ...process.env, ...stack.env, ...ghaEnv, SSH_AUTH_SOCK: '', DISPLAY: '', HTTPS_PROXY: '', HTTP_PROXY: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let agentStderr = ''
    const exited = once(agent, 'exit')
    // The agent says so once every file is in place.
    const ready = new Promise<void>((resolve, reject) => {
      agent.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        agentStderr += chunk
        if (/jitssh agent: 21 certificates in /.test(agentStderr)) resolve()
      })
      void exited.then(() => reject(new Error(`the agent exited before it was ready:\n${agentStderr}`)))
    })
    try {
      const config = join(dir, 'ssh_config')
      await ready
      expect(existsSync(config)).toBe(true)
      const ssh = (host: string, command: string): Promise<ToolResult> =>
        runTool(SSH_PATH, ['-F', config, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', host, command], {
          timeoutMs: 60_000, env: { ...stack.env, ...ghaEnv, SSH_AUTH_SOCK: '', DISPLAY: '' },
        })

      // A reader that never sees a partial key or certificate, nor a certificate for another key.
      const serials = new Set<string>()
      const problems: string[] = []
      let reading = true
      const reader = (async () => {
        while (reading) {
          try {
            const pair = parsePrivateKey(readFileSync(join(dir, 'id_ed25519'), 'utf8'))
            const certificate = parseCertificate(readFileSync(join(dir, `${VM_HOST}-cert.pub`), 'utf8'))
            if (!certificate.publicKey.blob.equals(pair.publicKey.blob)) problems.push('a certificate for another key')
            serials.add(certificate.serial.toString())
          } catch (error) {
            problems.push(error instanceof Error ? error.message : String(error))
          }
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()

      const started = Date.now()
      let connections = 0
      let burstDone = false
      while (Date.now() - started < 100_000) {
        const result = await ssh(VM_HOST, 'true')
        expect(result.code, `connection ${connections + 1} at ${Math.round((Date.now() - started) / 1000)} s: ${result.stderr}\nagent: ${agentStderr}`).toBe(0)
        connections++
        if (!burstDone && Date.now() - started > 45_000) {
          // Ansible-style: one agent directory, 20 hosts at once.
          const burst = await Promise.all(NODES.map((host) => ssh(host, 'id -un')))
          for (const [index, result] of burst.entries()) expect(result.code, `${NODES[index]}: ${result.stderr}`).toBe(0)
          expect(burst.map((result) => result.stdout.trim())).toEqual(NODES.map(() => LOGIN))
          burstDone = true
        }
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
      reading = false
      await reader
      expect(burstDone).toBe(true)
      expect(problems).toEqual([])
      expect(connections).toBeGreaterThan(50)
      // 30 s certificates renewed every ~10 s over 100 s.
      expect(serials.size).toBeGreaterThanOrEqual(8)
      expect(agentStderr).not.toContain('warning')

      agent.kill('SIGTERM')
      const [code] = (await exited) as [number | null]
      expect(code, agentStderr).toBe(0)
      expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([])
      expect(readdirSync(dir).filter((name) => name.endsWith('-cert.pub'))).toHaveLength(21)
    } finally {
      agent.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
