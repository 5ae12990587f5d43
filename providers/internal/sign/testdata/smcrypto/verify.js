// Verifies SM2 signatures made by payrecon with the independent npm package
// sm-crypto@0.5.8: sm2.doVerifySignature(msg, hexDER, pubHex, {hash: true, der: true}).
//
//   NODE_PATH=/tmp/smvec/node_modules node verify.js payrecon_vectors.json
//
// Input: {"vectors":[{"publicKey":"04…","msg":"…","sigBase64":"…"}]}.
// Output: one JSON line {"results":[true,false,…]} in input order.
'use strict';
const fs = require('fs');
const sm2 = require('sm-crypto').sm2;

const file = process.argv[2];
if (!file) {
  console.error('usage: node verify.js FILE');
  process.exit(2);
}
const input = JSON.parse(fs.readFileSync(file, 'utf8'));
const results = input.vectors.map((v) => {
  const sigHex = Buffer.from(v.sigBase64, 'base64').toString('hex');
  try {
    return sm2.doVerifySignature(v.msg, sigHex, v.publicKey, { hash: true, der: true });
  } catch (e) {
    return false;
  }
});
process.stdout.write(JSON.stringify({ verifier: 'sm-crypto@0.5.8', results: results }) + '\n');
