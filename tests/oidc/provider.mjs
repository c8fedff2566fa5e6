// A real OpenID Connect provider for the e-ID sign-in tests (crates/web/tests/api/eid.rs), built
// on the `oidc-provider` package with its development login and consent pages (form posts, no
// JavaScript). It listens on a free port of 127.0.0.1, prints `ready <port>` when discovery can
// be fetched, and runs until its standard input closes, so it never outlives the test.
//
// Environment: REDIRECT_URI (the relying party's callback), CLIENT_SECRET.
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
const clientSecret = process.env.CLIENT_SECRET;
if (!redirectUri || !clientSecret) {
  console.error('REDIRECT_URI and CLIENT_SECRET must be set');
  process.exit(2);
}

// People the provider knows, by the name typed on its login page. `cccd` carries the personal
// identity number; `cccd_verified` says whether the provider checked it against the population
// register.
const people = {
  'citizen-a': { name: 'Nguyễn Văn An', cccd: '001203004567', cccd_verified: true },
  'citizen-new': { name: 'Trần Thị Bình', cccd: '079301001234', cccd_verified: true },
  'citizen-unverified': { name: 'Lê Văn Cường', cccd: '001203004567', cccd_verified: false },
  'citizen-no-number': { name: 'Phạm Thị Dung' },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: 'cqs-test',
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['name'],
      cccd: ['cccd', 'cccd_verified'],
    },
    // Put the claims of the granted scopes in the ID token as well as at the userinfo endpoint.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['cqs-test-provider-cookie-key'] },
    async findAccount(_ctx, id) {
      const person = people[id];
      if (!person) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: `sub-${id}`, ...person };
        },
      };
    },
  });
  // Development pages send their own HTML; keep the console quiet about it.
  provider.on('server_error', (_ctx, err) => console.error('provider error', err));
  server.on('request', provider.callback());
  fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)
    .then((r) => {
      if (!r.ok) throw new Error(`discovery answered ${r.status}`);
      console.log(`ready ${port}`);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
