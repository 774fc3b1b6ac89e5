// s3_fault_proxy.js - a test-only HTTP proxy in front of s3rver that
// injects faults, for s3_storage.sh.  Usage:
//   node s3_fault_proxy.js UPSTREAM_PORT MODE
// It listens on 127.0.0.1 port 0 and prints "proxy listening on PORT".
// MODE:
//   mixed    request n: n%4==1 -> 503 SlowDown, n%4==2 -> the connection is
//            dropped after half the reply, n%4==3 -> 200 ms delay, else
//            passed through (so every request fails at most twice in a row)
//   always500  every request gets 500 InternalError
//   alternate429  odd requests get 429 TooManyRequests (S3-compatible
//            stores throttle so), even ones are passed through
//   each     the schedule of mixed, counted per request (method and URL)
//            instead of globally: attempt 1 of every request gets 503,
//            attempt 2 is dropped halfway, attempt 3 is delayed, so
//            requests sent concurrently over several connections all
//            fail twice and then pass, whatever their interleaving; a
//            POST (create, complete) only gets the 503 (a dropped
//            completion reply is mixed's case)
//   pass     everything passed through (to count parts in flight)
//   slowparts  every UploadPart waits 1 s before it is passed through
//            (so parts overlap however slowly the writer fills them),
//            everything else is passed through at once
//   holdparts  every UploadPart is held: its body is read, it is never
//            passed on nor answered (it prints "holding a part");
//            everything else is passed through
//   holdcomplete  CompleteMultipartUpload is held: never passed on, never
//            answered (it prints "holding complete"); everything else is
//            passed through.  Killing the writer then stops it after its
//            last commit and before the object exists.
//   swallowcomplete  CompleteMultipartUpload is passed on and its reply
//            dropped: the client never hears back (it prints "complete
//            done upstream, status N").  Killing the writer then stops it
//            after the object exists and before its state says so.
// In every mode, the first ranged GET of each client connection prints
// "ranged GET on connection N" (N counts connections from 1).
// In every mode, when more UploadPart requests are open at once than ever
// before, it prints "parts in flight: N" (a request is open from its
// arrival until its reply is sent or its client's connection closes).
// Node's own http module only: no dependency.
'use strict';
const http = require('http');
const upstreamPort = Number(process.argv[2]);
const mode = process.argv[3] || 'mixed';
let n = 0;
const attempts = new Map();
const rangeSockets = new WeakSet();
let rangeConnections = 0;

// Report each client connection that sends a ranged GET (read-ahead
// uses a second one).
function trackRanges(req) {
  if (req.method !== 'GET' || req.headers.range === undefined) return;
  if (rangeSockets.has(req.socket)) return;
  rangeSockets.add(req.socket);
  rangeConnections++;
  console.log(`ranged GET on connection ${rangeConnections}`);
}
let partsOpen = 0;
let partsMax = 0;

// Count UploadPart requests open at once (PUT with a partNumber).
function trackParts(req, res) {
  if (req.method !== 'PUT' || !/[?&]partNumber=/.test(req.url)) return;
  partsOpen++;
  if (partsOpen > partsMax) {
    partsMax = partsOpen;
    console.log(`parts in flight: ${partsMax}`);
  }
  let open = true;
  const closed = () => {
    if (open) partsOpen--;
    open = false;
  };
  res.on('finish', closed);
  res.on('close', closed);
  req.socket.on('close', closed);
}

function slowDown(res, status, code) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>injected by the test proxy</Message></Error>`;
  res.writeHead(status, {'Content-Type': 'application/xml', 'Content-Length': body.length});
  res.end(body);
}

function forward(req, res, dropHalfway) {
  const up = http.request({host: '127.0.0.1', port: upstreamPort, method: req.method,
    path: req.url, headers: req.headers}, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    if (!dropHalfway) {
      ur.pipe(res);
      return;
    }
    const length = Number(ur.headers['content-length'] || 0);
    let sent = 0;
    ur.on('data', (chunk) => {
      if (sent >= length / 2) return;
      res.write(chunk.subarray(0, Math.max(1, Math.floor(length / 2) - sent)));
      sent += chunk.length;
      if (sent >= length / 2) res.socket.destroy();
    });
    ur.on('end', () => res.socket && res.socket.destroy());
  });
  up.on('error', () => res.socket && res.socket.destroy());
  req.pipe(up);
}

// Pass req upstream, read the whole reply, answer nothing.
function swallow(req) {
  const up = http.request({host: '127.0.0.1', port: upstreamPort, method: req.method,
    path: req.url, headers: req.headers}, (ur) => {
    ur.resume();
    ur.on('end', () => console.log(`complete done upstream, status ${ur.statusCode}`));
  });
  up.on('error', (e) => console.log(`complete failed upstream: ${e.message}`));
  req.pipe(up);
}

const server = http.createServer((req, res) => {
  n++;
  trackParts(req, res);
  trackRanges(req);
  if (mode === 'pass') return forward(req, res, false);
  if (mode === 'slowparts') {
    if (req.method === 'PUT' && /[?&]partNumber=/.test(req.url))
      return setTimeout(() => forward(req, res, false), 1000);
    return forward(req, res, false);
  }
  const isComplete = req.method === 'POST' && /[?&]uploadId=/.test(req.url);
  if (mode === 'holdcomplete' && isComplete) {
    console.log('holding complete');
    req.resume();
    return;
  }
  if (mode === 'swallowcomplete' && isComplete) return swallow(req);
  if (mode === 'holdparts' && req.method === 'PUT' && /[?&]partNumber=/.test(req.url)) {
    console.log('holding a part');
    req.resume();
    return;
  }
  if (mode === 'holdcomplete' || mode === 'swallowcomplete' || mode === 'holdparts')
    return forward(req, res, false);
  if (mode === 'always500') return slowDown(res, 500, 'InternalError');
  if (mode === 'alternate429') {
    if (n % 2 === 1) return slowDown(res, 429, 'TooManyRequests');
    return forward(req, res, false);
  }
  let k = n % 4;
  if (mode === 'each') {
    const key = `${req.method} ${req.url}`;
    const a = (attempts.get(key) || 0) + 1;
    attempts.set(key, a);
    k = a % 4;
    if (req.method === 'POST' && k !== 1) k = 0;
  }
  if (k === 1) return slowDown(res, 503, 'SlowDown');
  if (k === 2) return forward(req, res, true);
  if (k === 3) return setTimeout(() => forward(req, res, false), 200);
  forward(req, res, false);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`proxy listening on ${server.address().port}`);
});
