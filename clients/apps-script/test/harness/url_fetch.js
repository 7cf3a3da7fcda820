// UrlFetchApp.fetch as Apps Script does it — synchronously — by running curl.
// Returns an HTTPResponse (getResponseCode, getContentText, getHeaders, getAllHeaders); with
// muteHttpExceptions false a status >= 400 throws "Request failed for …"; a connection failure
// or timeout always throws, as in Apps Script.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const TIMEOUT_S = 60;  // UrlFetchApp's own deadline is about a minute and cannot be set

/** Parses the last header block curl dumped (after redirects/100-continue). */
function parseHeaders(text) {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b.trim()));
  const last = blocks.length ? blocks[blocks.length - 1].trim() : '';
  const headers = {};
  const all = {};
  for (const line of last.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    headers[k] = v;
    all[k] = all[k] ? [].concat(all[k], v) : v;
  }
  return { headers, all };
}

function makeUrlFetchApp(env) {
  return {
    fetch(url, params = {}) {
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error(`Exception: Invalid argument: ${url}`);
      const method = String(params.method || 'get').toUpperCase();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlfetch-'));
      const headerFile = path.join(dir, 'h');
      const bodyFile = path.join(dir, 'b');
      const args = ['-sS', '-X', method, '--max-time', String(TIMEOUT_S), '-D', headerFile, '-o', bodyFile, '-w', '%{http_code}'];
      if (params.followRedirects !== false) args.push('-L');
      for (const [k, v] of Object.entries(params.headers || {})) args.push('-H', `${k}: ${v}`);
      let input;
      if (params.payload !== undefined) {
        input = typeof params.payload === 'string' ? params.payload : new URLSearchParams(params.payload).toString();
        args.push('-H', `Content-Type: ${params.contentType || 'application/x-www-form-urlencoded'}`, '--data-binary', '@-');
      }
      args.push(url);
      const started = Date.now();
      const entry = { method, url, status: 0, ms: 0, body: input };
      env.fetchLog.push(entry);
      try {
        let code;
        try {
          code = Number(execFileSync('curl', args, { input: input === undefined ? '' : input, stdio: ['pipe', 'pipe', 'pipe'] }).toString());
        } catch (err) {
          const curlCode = err.status;
          entry.ms = Date.now() - started;
          entry.error = `curl exit ${curlCode}`;
          if (curlCode === 28) throw new Error(`Exception: Timeout: ${url}`);
          if (curlCode === 6) throw new Error(`Exception: DNS error: ${url}`);
          throw new Error(`Exception: Address unavailable: ${url}`);
        }
        const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile) : Buffer.alloc(0);
        const { headers, all } = parseHeaders(fs.existsSync(headerFile) ? fs.readFileSync(headerFile, 'utf8') : '');
        entry.status = code;
        entry.ms = Date.now() - started;
        const text = body.toString('utf8');
        if (code >= 400 && !params.muteHttpExceptions) {
          throw new Error(`Exception: Request failed for ${url} returned code ${code}. Truncated server response: ${text.slice(0, 100)} (use muteHttpExceptions option to examine full response)`);
        }
        return {
          getResponseCode: () => code,
          getContentText: () => text,
          getContent: () => [...body].map((b) => (b > 127 ? b - 256 : b)),
          getHeaders: () => ({ ...headers }),
          getAllHeaders: () => ({ ...all }),
        };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

module.exports = { makeUrlFetchApp, parseHeaders };
