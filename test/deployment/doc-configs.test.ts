import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_DOC, deploymentDoc, docConfigs } from './doc-configs.js';

// The page's proxy configs are the tests' configs: each nginx, Caddy and HAProxy block carries a marker that the
// deployment tests read it by.

const PROXY_LANGUAGES = ['nginx', 'caddyfile', 'haproxy'];

describe(DEPLOYMENT_DOC, () => {
  it('marks every nginx, Caddy and HAProxy block for the deployment tests', () => {
    const lines = deploymentDoc().split('\n');
    const unmarked = lines.flatMap((line, i) => {
      const fence = /^\s*```(\w+)\s*$/.exec(line);
      if (fence === null || !PROXY_LANGUAGES.includes(fence[1] as string)) return [];
      return /^<!-- deployment-test: [\w-]+ -->$/.test((lines[i - 1] ?? '').trim()) ? [] : [`line ${i + 1}`];
    });
    expect(unmarked).toEqual([]);
  });

  it('has the configs the deployment tests run', () => {
    expect([...docConfigs().keys()].sort()).toEqual(
      ['caddy', 'caddy-encode', 'haproxy', 'nginx', 'nginx-capacity', 'nginx-outer'].sort(),
    );
  });
});
