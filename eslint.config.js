// Lint rules, chiefly the dependency direction of STYLE.md:
//   cli -> client -> ssh, shared;  server -> ssh, shared;  ssh and shared import nothing of ours.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const serverPackages = ['fastify', '@fastify/*', 'better-sqlite3', 'pg', 'oidc-provider', 'yaml', '@lydell/node-pty']
const restrict = (patterns) => ['error', { patterns }]
// Relative imports from any depth (src/client/auth/x.ts reaches the server as ../../server/...), the folder
// itself included (../../server), are matched by segment name.
const notServer = { group: ['**/server', '**/server/**'], message: 'client and CLI never import server code.' }
const notCli = { group: ['**/cli', '**/cli/**'], message: 'client code never imports the CLI (src/cli).' }
const noServerPackages = { group: serverPackages, message: 'server dependencies never load in the client.' }
const notWeb = { group: ['**/web', '**/web/**'], message: 'src/web is browser code, bundled by esbuild (npm run build) and served as files: never imported.' }
// What a browser page may use: the DOM, and the timers, encoders and fetch every browser has.
const browserGlobals = Object.fromEntries(
  ['window', 'document', 'WebSocket', 'performance', 'ResizeObserver', 'MessageEvent', 'HTMLElement', 'HTMLDivElement', 'HTMLInputElement', 'HTMLSelectElement',
    'HTMLButtonElement', 'HTMLParagraphElement', 'HTMLSpanElement', 'HTMLMetaElement', 'Document', 'ElementCreationOptions'].map((name) => [name, 'readonly']),
)

export default tseslint.config(
  { ignores: ['dist/**', 'dist-typecheck/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    // bin/jitssh-ssh-gen.cjs, packaging/cli-bin.cjs, scripts/cli-code-cache.cjs: CommonJS on purpose (they start faster than an ES module).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/ssh/**', 'src/shared/**'],
    rules: { 'no-restricted-imports': restrict([{ group: ['../*', '../../*', '../../../*'], message: 'src/ssh and src/shared import nothing of ours outside their own folder.' }, { regex: '^(?!node:|\\./)', message: 'src/ssh and src/shared use node: built-ins and their own folder only.' }]) },
  },
  {
    files: ['src/client/**'],
    rules: { 'no-restricted-imports': restrict([notServer, notCli, noServerPackages, notWeb]) },
  },
  {
    files: ['src/cli/**'],
    rules: { 'no-restricted-imports': restrict([notServer, noServerPackages, notWeb]) },
  },
  {
    // The browser pages (terminal, player): their own files, the wire shapes of src/shared and xterm.js; nothing
    // of the server, the client or the CLI, and no node: built-in (none exists in a browser).
    files: ['src/web/**'],
    languageOptions: { globals: browserGlobals },
    rules: {
      'no-restricted-imports': restrict([
        { regex: '^(?!\\./|\\.\\./shared/|@xterm/)', message: 'src/web imports only its own files, src/shared and @xterm/* packages: nothing of the server, client or CLI, no node: built-ins.' },
      ]),
    },
  },
  {
    // The ssh-gen fast path, also bundled into dist/fast-path.cjs: node: built-ins and small files of ours, no
    // package (test/integration/cli-ssh-gen-fast-path.test.ts checks every module it loads).
    files: ['src/cli/fast-path.ts', 'src/client/env.ts', 'src/client/files/paths.ts', 'src/client/files/cert-freshness.ts'],
    rules: { 'no-restricted-imports': restrict([notServer, notCli, { regex: '^(?!node:|\\.)', message: 'the ssh-gen fast path loads no package, only node: built-ins and files of ours.' }]) },
  },
  {
    // The unit project (vitest --project unit) starts no jitssh server, sshd, Chromium or PostgreSQL.
    files: ['test/unit/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '../helpers/sshd.js', importNames: ['startSshd'], message: 'tests that start sshd belong in test/integration or test/e2e.' }],
        patterns: [{ group: ['**/helpers/server.js', '**/helpers/stack.js', '**/helpers/chromium.js', '**/helpers/postgres.js'], message: 'tests that start the server, Chromium or PostgreSQL belong in test/integration or test/e2e.' }],
      }],
    },
  },
  {
    files: ['src/server/**'],
    ignores: ['src/server/app.ts', 'src/server/store/**'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/client/**', '**/cli/**'], message: 'server never imports client code.' },
        notWeb,
        { group: ['**/*-route.js', '**/*-routes.js'], message: 'only app.ts registers routes: put what two modules share in a module of its own.' },
        { group: ['**/store/sqlite/**', '**/store/postgres/**'], message: 'the dialects are reached through the Store interface (store/store.ts, store/open-store.ts).' },
      ]),
    },
  },
  {
    files: ['src/server/app.ts', 'src/server/store/**'],
    rules: { 'no-restricted-imports': restrict([{ group: ['**/client/**', '**/cli/**'], message: 'server never imports client code.' }]) },
  },
)
