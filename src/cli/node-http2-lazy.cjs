'use strict';
// node:http2 for the CLI bundle's undici: see node-lazy.cjs.
module.exports = require('./node-lazy.cjs').http2;
