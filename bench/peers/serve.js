// Starts one single-service peer bound to 127.0.0.1 (kinesalite's own CLI cannot choose the address):
//   node serve.js dynalite   <port>
//   node serve.js kinesalite <port>
//   node serve.js s3rver     <port> <directory>
// dynalite and kinesalite keep their data in memory (their default); s3rver keeps it in <directory>.
// Prints "listening on 127.0.0.1:<port>" once bound. Ends on SIGTERM or SIGINT.
'use strict';

const [peer, portText, directory] = process.argv.slice(2);
const port = Number(portText);
const host = '127.0.0.1';

function announce() {
  console.log(`listening on ${host}:${port}`);
}

function fail(message) {
  console.error(`serve.js: ${message}`);
  process.exit(2);
}

if (!Number.isInteger(port) || port <= 0) {
  fail('usage: node serve.js <dynalite|kinesalite|s3rver> <port> [directory]');
}

let stop;
if (peer === 'dynalite' || peer === 'kinesalite') {
  const server = require(peer)({}).listen(port, host, announce);
  stop = () => server.close();
} else if (peer === 's3rver') {
  if (!directory) {
    fail('s3rver needs a directory');
  }
  const S3rver = require('s3rver');
  // The runner's requests carry fake SigV4 signatures, which s3rver does not check; its access key id
  // must still be "S3RVER".
  const server = new S3rver({ port, address: host, directory, silent: true });
  server.run().then(announce, (err) => fail(err.message));
  stop = () => server.close();
} else {
  fail(`unknown peer "${peer}"`);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stop();
    process.exit(0);
  });
}
