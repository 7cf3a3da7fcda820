// A tiny HTTP server for the error paths the real gateway cannot easily be made to produce
// (429 with Retry-After, a 503 burst, 410 cursor_expired). It runs in a worker thread because
// UrlFetchApp in the harness blocks the main thread in curl. Responses follow a script: each
// request takes the first unused entry whose `path` is its path (or that has no path); with no
// such entry, POST /v1/edits answers every change "applied" and other routes 404 "no route". Requests are appended to a file so the
// blocked main thread can read them synchronously.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (isMainThread) {
  /**
   * Starts the server. `script`: [{status, headers, body, path?}] answered in order.
   * Returns {url, requests(), close()}.
   */
  module.exports.startFakeGateway = function startFakeGateway(script = []) {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fake-gateway-')), 'requests.jsonl');
    fs.writeFileSync(log, '');
    const worker = new Worker(__filename, { workerData: { script, log } });
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (port) => {
        resolve({
          url: `http://127.0.0.1:${port}`,
          requests: () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
          close: () => worker.terminate().then(() => fs.rmSync(path.dirname(log), { recursive: true, force: true })),
        });
      });
    });
  };
} else {
  const http = require('node:http');
  const script = workerData.script.slice();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      fs.appendFileSync(workerData.log, JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }) + '\n');
      const i = script.findIndex((s) => !s.path || req.url.split('?')[0] === s.path);
      const next = i >= 0 ? script.splice(i, 1)[0] : null;
      if (next) {
        res.writeHead(next.status, { 'Content-Type': 'application/json', ...(next.headers || {}) });
        res.end(typeof next.body === 'string' ? next.body : JSON.stringify(next.body || {}));
        return;
      }
      if (req.method === 'POST' && req.url.startsWith('/v1/edits')) {
        const changes = JSON.parse(body).changes || [];
        const results = changes.map((c) => ({
          event_id: c.event_id, row_id: c.row_id, status: 'applied', applied: Object.keys(c.cells || {}),
        }));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ results }));
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: `no route for ${req.url.split('?')[0]}` } }));
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
}
