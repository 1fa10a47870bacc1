// Package oidctest is test support for the "sign in with an OAuth/OIDC
// provider" tests: it starts identity providers on 127.0.0.1 loopback
// (httptest servers, no network) for the app to be configured against.
//
// Three providers cover what those tests need:
//
//   - [Start] runs a real OpenID provider, the op package of
//     github.com/zitadel/oidc, with a plain HTML login form. It proves the
//     app interoperates with a standards-compliant provider that the tests
//     do not control, in the integration tests ([Provider.Login]) and in a
//     browser (see [LoginUsernameSelector]).
//   - [StartFake] runs a minimal, hostile OpenID issuer whose ID tokens the
//     test can tamper with ([Fake.Tamper]), and which records what the app
//     sent, so tests can prove the app refuses a bad nonce, audience,
//     issuer, signature or expiry, and that it uses PKCE.
//   - [StartGitHub] runs a stand-in for github.com's OAuth app endpoints and
//     REST API (/user, /user/emails), with GitHub's JSON shapes, for the
//     github preset, which is plain OAuth 2 without an ID token.
//
// Every server is closed with t.Cleanup, keeps its state behind its own
// mutex, and may be configured (clients, users) after it started, because
// the app's redirect URI is only known once the app is listening.
package oidctest
