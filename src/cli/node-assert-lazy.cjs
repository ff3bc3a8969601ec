'use strict';
// node:assert for the CLI bundle's undici: see node-lazy.cjs.
module.exports = require('./node-lazy.cjs').assert;
