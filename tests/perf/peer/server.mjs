// The peer that tests/perf/run.sh measures Portcullis against: panva's
// oidc-provider (pinned in package.json), set up to do the same work as
// Portcullis in each scenario:
//
//   - one confidential client authenticating with client_secret_basic;
//   - client credentials, device flow and introspection enabled;
//   - ES256-signed JWT access tokens (RFC 9068 style) for one resource
//     (resourceIndicators with accessTokenFormat 'jwt'), 900 s lifetime like
//     Portcullis' default;
//   - three signing keys in the JWKS (RS256, ES256, EdDSA), as Portcullis has;
//   - in-memory storage (no database).
//
// The routes are renamed to Portcullis' paths so that the same wrk scripts
// drive both servers; discovery stays at /.well-known/openid-configuration.
//
// Environment: PEER_PORT (listen port, 127.0.0.1), PEER_CLIENT_SECRET.
// Prints "peer ready <issuer>" once it listens.

import { generateKeyPairSync } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';
// The stock in-memory adapter keeps everything in an LRU capped at 1,000
// entries, which would evict the 1,000 pending device codes of the polling
// scenario (each takes two entries) while they are being polled. Same adapter,
// same store class, without the cap: nothing is evicted, expiry still applies.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.env.PEER_PORT || 18090);
const issuer = `http://localhost:${port}`;
const resource = `${issuer}/api`;
const secret = process.env.PEER_CLIENT_SECRET;
if (!secret) {
  console.error('PEER_CLIENT_SECRET is required');
  process.exit(2);
}

function privateJwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-1` };
}

const store = new LRU({ maxSize: Infinity });

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  clients: [
    {
      client_id: 'bench',
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid profile email offline_access api',
    },
  ],
  jwks: {
    keys: [
      privateJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
      privateJwk('rsa', { modulusLength: 2048 }, 'RS256'),
      privateJwk('ed25519', {}, 'EdDSA'),
    ],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  cookies: { keys: [secret] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource parameter: an opaque token (the only kind oidc-provider
      // introspects; it refuses JWT access tokens at /introspect).
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 900,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    DeviceCode: 600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 2592000,
    Grant: 2592000,
    Session: 604800,
    Interaction: 3600,
  },
  routes: {
    token: '/oauth2/token',
    jwks: '/oauth2/jwks',
    introspection: '/oauth2/introspect',
    revocation: '/oauth2/revoke',
    device_authorization: '/oauth2/device_authorization',
    code_verification: '/device',
    authorization: '/oauth2/authorize',
    userinfo: '/oauth2/userinfo',
    end_session: '/oauth2/end_session',
  },
});

// oidc-provider logs every server_error on 'server_error'; keep them visible.
provider.on('server_error', (_ctx, err) => console.error('peer server_error:', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`peer ready ${issuer}`);
});
