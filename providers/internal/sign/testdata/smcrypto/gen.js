// Makes SM2 test vectors with the independent npm package sm-crypto@0.5.8.
//
//   cd /tmp/smvec && npm install sm-crypto@0.5.8
//   NODE_PATH=/tmp/smvec/node_modules node gen.js > vectors.json
//
// Each vector: a fresh key pair (hex, as sm-crypto prints it; the public key
// also SEC1-compressed), a message and
// sm2.doSignature(msg, priv, {hash: true, der: true, publicKey}) as hex DER
// and as base64 (the form Huawei puts on the wire).
'use strict';
const sm2 = require('sm-crypto').sm2;

const messages = [
  'callbackId=1240703&callbackTime=2023-03-29 09:29:14&currency=CNY&dataType=plain&mercNo=101321200001&orderStatus=TRX_SUCCESS&totalAmount=10000',
  'appId=5765880207854262xxx&callbackUrl=https://www.xxx.com/hw_notify&currency=CNY&mercNo=101723200xxx',
  '中文交易摘要=测试&amount=1',
  '',
  'a',
  'sign excluded&x=' + 'y'.repeat(300),
];

const out = [];
for (let i = 0; i < 24; i++) {
  const kp = sm2.generateKeyPairHex();
  const msg = messages[i % messages.length] + (i >= messages.length ? '&n=' + i : '');
  const sigHex = sm2.doSignature(msg, kp.privateKey, { hash: true, der: true, publicKey: kp.publicKey });
  if (!sm2.doVerifySignature(msg, sigHex, kp.publicKey, { hash: true, der: true })) {
    throw new Error('sm-crypto failed its own vector ' + i);
  }
  out.push({
    publicKey: kp.publicKey,
    publicKeyCompressed: sm2.compressPublicKeyHex(kp.publicKey),
    privateKey: kp.privateKey,
    msg: msg,
    sigHex: sigHex,
    sigBase64: Buffer.from(sigHex, 'hex').toString('base64'),
  });
}
process.stdout.write(JSON.stringify({ generator: 'sm-crypto@0.5.8 sm2.doSignature {hash:true,der:true}', vectors: out }, null, 1) + '\n');
