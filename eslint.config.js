import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'src/infra/generated/**', 'node_modules/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Scripts run under Node as plain ESM.
    files: ['scripts/**/*.mjs', '*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // The web console: plain ES modules run by the browser, served as they are (no build step).
    files: ['console/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // The admin CLI is a client of the admin API's HTTP contract (STYLE.md), never a second path
  // into the server: only its own modules, node:*, commander and jose (test/unit/cli checks it too).
  ...[
    ['src/cli/*.ts', '../*'],
    ['src/cli/commands/*.ts', '../../*'],
  ].map(([files, outside]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: [outside], message: 'src/cli imports nothing of the server: use the admin API' },
            {
              group: ['fastify*', '@fastify/*', 'oidc-provider', '@prisma/*', 'pg', 'ioredis', '@sinclair/*'],
              message: 'the CLI talks to the service over HTTP only',
            },
          ],
        },
      ],
    },
  })),
  {
    // The domain core is pure (STYLE.md): no I/O, frameworks, clock or randomness of its own.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'fastify*',
            '@fastify/*',
            'oidc-provider',
            'koa',
            '@prisma/*',
            'pg',
            'ioredis',
            'node:*',
            'jose',
            '../infra/*',
            '../http/*',
            '../protocol/*',
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now' },
        { object: 'Math', property: 'random' },
      ],
    },
  },
);
