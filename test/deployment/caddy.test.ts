import { proxyRequirement } from '../support/proxies.js';
import { docConfig } from './doc-configs.js';
import { caddyInFront } from './fronts.js';
import { describeDeployment } from './scenarios.js';

// docs/deployment.md's Caddyfile, run by Debian's Caddy in front of Express and Fastify. The config sets no timeout
// on proxied responses (Caddy's default), so nothing cuts a quiet stream.

if (!proxyRequirement('caddy').skip) {
  describeDeployment({
    name: 'Caddy',
    cutsQuietStreams: false,
    holdsHttp2HeadUntilBody: false,
    start: (upstream) => caddyInFront(docConfig('caddy'), upstream),
  });
}
