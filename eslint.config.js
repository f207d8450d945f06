// Lint rules, chiefly the dependency direction of STYLE.md:
//   cli -> client -> ssh, shared;  server -> ssh, shared;  ssh and shared import nothing of ours.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const serverPackages = ['fastify', '@fastify/*', 'better-sqlite3', 'pg', 'oidc-provider', 'yaml']
const restrict = (patterns) => ['error', { patterns }]

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
    // bin/jitssh-ssh-gen.cjs: CommonJS on purpose (it starts faster than an ES module).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/ssh/**', 'src/shared/**'],
    rules: { 'no-restricted-imports': restrict([{ group: ['../*', '../../*', '../../../*'], message: 'src/ssh and src/shared import nothing of ours outside their own folder.' }, { regex: '^(?!node:|\\./)', message: 'src/ssh and src/shared use node: built-ins and their own folder only.' }]) },
  },
  {
    files: ['src/client/**'],
    rules: { 'no-restricted-imports': restrict([{ group: ['**/server/**', '**/cli/**'], message: 'client imports only ssh and shared.' }, { group: serverPackages, message: 'server dependencies never load in the client.' }]) },
  },
  {
    files: ['src/cli/**'],
    rules: { 'no-restricted-imports': restrict([{ group: ['**/server/**'], message: 'the CLI never imports server code.' }, { group: serverPackages, message: 'server dependencies never load in the client.' }]) },
  },
  {
    files: ['src/server/**'],
    ignores: ['src/server/app.ts', 'src/server/store/**'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/client/**', '**/cli/**'], message: 'server never imports client code.' },
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
