'use strict';
// Two of node's modules as the CLI bundle's undici gets them (esbuild.config.mjs),
// so that the CLI's start does not load what its HTTP/1.1 requests never use:
// - node:http2: undici's client-h2.js reads its constants at load, and node:http2
//   loads tls and crypto with it. The CLI never speaks HTTP/2 (undici's default);
//   connect() loads the real module if it ever does. The constants are HTTP/2's own
//   (RFC 9113 names, nghttp2 codes): test/integration/cli-bundle.test.ts checks them
//   against node's.
// - node:assert: undici calls assert(value) on its own invariants, and node:assert
//   loads node's error formatting (colors, the stderr stream). A check that holds
//   costs nothing here; one that fails is handed to node's assert, which throws.
const lazy = (name) => {
  let real;
  return () => (real ??= require(name));
};
const http2 = lazy('node:http2');
const nodeAssert = lazy('node:assert');

exports.http2 = {
  constants: {
    HTTP2_HEADER_AUTHORITY: ':authority',
    HTTP2_HEADER_METHOD: ':method',
    HTTP2_HEADER_PATH: ':path',
    HTTP2_HEADER_SCHEME: ':scheme',
    HTTP2_HEADER_CONTENT_LENGTH: 'content-length',
    HTTP2_HEADER_EXPECT: 'expect',
    HTTP2_HEADER_STATUS: ':status',
    HTTP2_HEADER_PROTOCOL: ':protocol',
    NGHTTP2_REFUSED_STREAM: 7,
    NGHTTP2_CANCEL: 8,
  },
  connect: (...args) => http2().connect(...args),
};

function assert(value, message) {
  if (!value) nodeAssert()(value, message);
}
assert.ok = assert;
exports.assert = assert;
