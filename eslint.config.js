// ESLint: the recommended rules of ESLint and typescript-eslint on every source, test and bench file (generated
// bundles and build output left out); `npm run lint`, run by CI.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.polycloud/**', '**/.esbuild/**', '**/.serverless/**', '**/.azurite/**', '.packs/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a parameter a signature requires).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
)
