// A real OpenID Connect provider for Duet's tests: panva's oidc-provider (certified by the
// OpenID Foundation), with its development sign-in and consent pages. Test use only.
//
// Environment: OIDC_HOST, OIDC_PORT; OIDC_CLIENTS, a JSON list of
// {client_id, client_secret, redirect_uris}; OIDC_ACCOUNTS, a JSON object from login to
// claims ({name, email, email_verified}). A login is its account's `sub`; any password
// is accepted (the development pages check none), an unknown login is refused.
import Provider from 'oidc-provider';

const host = process.env.OIDC_HOST ?? '127.0.0.1';
const port = Number(process.env.OIDC_PORT);
const issuer = `http://${host}:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}');
const clients = JSON.parse(process.env.OIDC_CLIENTS).map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));

const provider = new Provider(issuer, {
  clients,
  // Every client must send a PKCE challenge (S256, the only method enabled by default).
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
  },
  cookies: { keys: ['duet-tests-only-not-a-secret'] },
  features: { devInteractions: { enabled: true } },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Provider error</title><h1>${out.error}</h1>`;
  },
});

// An unknown login is an error the development pages would only log.
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = provider.listen(port, host, () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
