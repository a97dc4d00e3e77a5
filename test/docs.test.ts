import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generatedFiles } from '../scripts/generate-docs.ts';

it('README tables and docs/ match the code (run `npm run docs` after changing options, metrics or errors)', async () => {
  for (const [url, content] of await generatedFiles()) {
    assert.equal(readFileSync(url, 'utf8'), content, `${url.pathname} is stale`);
  }
});
