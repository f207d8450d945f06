/** The version of jitssh and jitssh-server (package.json's; test/unit/version.test.ts keeps them equal). */
export const VERSION = '0.1.0'
