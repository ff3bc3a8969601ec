// What the Lambda bundles get for zod's `locales` index (esbuild.config.mjs): nothing.
// zod's messages stay English (zod loads its `en` locale itself, not through this
// index); the index would add every other language, over half of zod's size, to
// each cold start (~80 ms of the api's first ack: docs/benchmarks.md). No code of
// ours reads z.locales or z.core.locales: test/integration/lambda-bundle.test.ts checks it.
export {};
