// What the CLI bundle gets for zod's `locales` index (esbuild.config.mjs): nothing.
// zod's messages stay English (zod loads its `en` locale itself, not through
// this index); the index would add every other language, over half of zod's
// size, to each CLI start. No code of ours reads z.locales or z.core.locales:
// test/integration/cli-bundle.test.ts checks that.
export {};
