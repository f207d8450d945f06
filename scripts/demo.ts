/**
 * npm run demo [-- --non-interactive]
 *
 * The real jitssh flow on this machine, with nothing to configure: an access server on an embedded SQLite
 * database, a local sshd that trusts its user CA, a demo user with a fresh password, and an ssh config in a
 * private temp directory (your ~/.ssh is never touched). Interactive: your browser opens for the login, then
 * you get a shell on demo-host through the bastion. --non-interactive: headless Chromium logs in and
 * `ssh demo-host id` runs. Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { userInfo } from 'node:os'
import { launchChromium, CHROMIUM_PATH } from '../test/helpers/chromium.js'
import { startStack, JITSSH_BIN, type Stack } from '../test/helpers/stack.js'
import { SSH_PATH, sshdAvailable } from '../test/helpers/sshd.js'
import { existsSync } from 'node:fs'

const HOST = 'demo-host'
const args = process.argv.slice(2)
const nonInteractive = args.includes('--non-interactive')
const say = (line: string): void => void process.stderr.write(`demo: ${line}\n`)

if (args.includes('--help')) {
  process.stdout.write('usage: npm run demo [-- --non-interactive]\n')
  process.exit(0)
}
if (!sshdAvailable()) {
  say('OpenSSH is missing. Install it first: sudo apt-get install -y openssh-server openssh-client')
  process.exit(1)
}
if (nonInteractive && !existsSync(CHROMIUM_PATH)) {
  say(`--non-interactive needs Chromium at ${CHROMIUM_PATH}: sudo apt-get install -y chromium`)
  process.exit(1)
}

const running: { stack?: Stack; stopping?: boolean } = {}
async function shutdown(code: number): Promise<never> {
  if (!running.stopping) {
    running.stopping = true
    await running.stack?.stop()
  }
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(130))
process.on('SIGTERM', () => void shutdown(143))

const password = randomBytes(12).toString('base64url')
const principal = userInfo().username
const stack = await startStack({
  hosts: [HOST],
  users: [{ username: 'demo', email: 'demo@example.com', groups: ['demo'], password }],
  policy: [{ name: 'demo', groups: ['demo'], hosts: [HOST], principals: [principal], max_ttl: '15m' }],
})
running.stack = stack
say(`access server  ${stack.server.url}  (SQLite in ${stack.server.dir})`)
say(`target sshd    127.0.0.1:${stack.sshd.port}, trusts the jitssh user CA, reached as "${HOST}" through the bastion`)
say(`demo login     user: demo   password: ${password}`)

const config = await stack.jitssh(['ssh-config', '--hostname', HOST, '--short-lived-cert', '--write', '--server', stack.server.url])
if (config.code !== 0) {
  say(`ssh-config failed: ${config.stderr.trim()}`)
  await shutdown(1)
}
say(`ssh config     ${stack.sshConfigPath}`)

if (nonInteractive) {
  const browser = await launchChromium()
  try {
    const login = await stack.loginWithBrowser(browser, { username: 'demo', password })
    if (login.code !== 0) {
      say(`login failed: ${login.stderr.trim()}`)
      await shutdown(1)
    }
    say('logged in (headless Chromium completed the browser login)')
  } finally {
    await browser.close()
  }
  say(`$ ssh ${HOST} id`)
  const ssh = await stack.ssh([HOST, 'id'])
  process.stdout.write(ssh.stdout)
  if (ssh.code !== 0) process.stderr.write(ssh.stderr)
  await shutdown(ssh.code === 0 ? 0 : 1)
}

// Interactive: your real environment (so the browser can open), with jitssh's files kept in the demo's directory.
const env = { ...process.env, JITSSH_HOME: stack.env.JITSSH_HOME, JITSSH_CREDENTIAL_STORE: 'file' }
const run = async (command: string, argv: string[]): Promise<number> => {
  const child = spawn(command, argv, { env, stdio: 'inherit' })
  const [code] = (await once(child, 'exit')) as [number | null]
  return code ?? 1
}
say('logging in: your browser opens (or follow the URL below); sign in as demo with the password above')
if ((await run(process.execPath, [JITSSH_BIN, 'login', '--server', stack.server.url])) !== 0) await shutdown(1)
say(`$ ssh ${HOST}    (exit the shell to end the demo)`)
const code = await run(SSH_PATH, ['-F', stack.sshConfigPath, HOST])
await shutdown(code)
