/**
 * Http: calls to the sheetsync gateway with the bearer token, retries with exponential backoff
 * that honours Retry-After (429, 503), and a backoff persisted across executions so that
 * triggers do not hammer a gateway that is down.
 *
 * Outcome kinds of callGateway_():
 *   ok     2xx (and 422 for POST /v1/edits: its body still carries the per-change results)
 *   retry  network failure, 429 or 5xx — the request may be repeated as it is (contract §2:
 *          a 503 acknowledged nothing); `delayMs` says when
 *   fail   any other answer (401, 404, 410, 413 …): `code`, `errorCode` and `message` say why
 */

/**
 * @typedef {Object} Outcome
 * @property {string} kind 'ok' | 'retry' | 'fail'
 * @property {number} code HTTP status (0 for a network failure)
 * @property {*} json parsed body or null
 * @property {string} errorCode the body's error.code, or ''
 * @property {string} message a sentence for a person
 * @property {number} delayMs for 'retry': how long to wait
 */

/** Sends one request and retries within the run while the waits are short. */
function callGateway_(/** @type {Ctx} */ ctx, /** @type {string} */ method, /** @type {string} */ path, /** @type {*} */ body) {
  let out = null;
  for (let attempt = 1; attempt <= MAX_IN_RUN_ATTEMPTS; attempt++) {
    out = fetchOnce_(ctx, method, path, body);
    if (out.kind !== 'retry') {
      clearBackoff_();
      return out;
    }
    out.delayMs = Math.max(out.delayMs, backoffDelay_(attempt));
    const wait = out.delayMs;
    if (attempt === MAX_IN_RUN_ATTEMPTS || wait > MAX_IN_RUN_WAIT_MS || Date.now() + wait >= ctx.deadline) break;
    Utilities.sleep(wait);
  }
  recordBackoff_(/** @type {Outcome} */ (out));
  return /** @type {Outcome} */ (out);
}

/** Sends one request; never throws for network or HTTP errors. */
function fetchOnce_(/** @type {Ctx} */ ctx, /** @type {string} */ method, /** @type {string} */ path, /** @type {*} */ body) {
  /** @type {GoogleAppsScript.URL_Fetch.URLFetchRequestOptions} */
  const options = {
    method: /** @type {GoogleAppsScript.URL_Fetch.HttpMethod} */ (method),
    headers: { Authorization: 'Bearer ' + ctx.settings.token },
    muteHttpExceptions: true,
    followRedirects: false,
  };
  if (body !== undefined) {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = UrlFetchApp.fetch(ctx.settings.url + path, options);
  } catch (err) {
    return outcome_('retry', 0, null, 'network', 'Cannot reach the gateway at ' + ctx.settings.url + ': ' + errorText_(err), 0);
  }
  const code = resp.getResponseCode();
  const json = parseJson_(resp.getContentText(), null);
  const err = json && json.error ? json.error : {};
  if ((code >= 200 && code < 300) || (code === 422 && json && Array.isArray(json.results))) {
    return outcome_('ok', code, json, '', '', 0);
  }
  // The gateway's id for an edit request that reached the services: the one to
  // look for in their logs.
  const trace = headerValue_(resp.getHeaders(), 'X-Trace-Id');
  const message = (err.message || ('HTTP ' + code + ' from ' + method.toUpperCase() + ' ' + path.split('?')[0])) +
    (trace ? ' [trace ' + trace + ']' : '');
  if (code === 429 || code >= 500) {
    const after = parseRetryAfter_(headerValue_(resp.getHeaders(), 'Retry-After'), Date.now());
    return outcome_('retry', code, json, err.code || '', message, after === null ? 0 : after);
  }
  return outcome_('fail', code, json, err.code || '', message, 0);
}

/** Returns an Outcome. */
function outcome_(/** @type {string} */ kind, /** @type {number} */ code, /** @type {*} */ json, /** @type {string} */ errorCode, /** @type {string} */ message, /** @type {number} */ delayMs) {
  return { kind: kind, code: code, json: json, errorCode: errorCode, message: message, delayMs: delayMs };
}

/** Returns whether a 404 means the gateway lacks the route (rather than the table). */
function isMissingRoute_(/** @type {Outcome} */ out) {
  return out.code === 404 && (out.errorCode === 'not_found' || /no route/i.test(out.message));
}

/** Returns the value of header `name` in any case, or ''. */
function headerValue_(/** @type {Object} */ headers, /** @type {string} */ name) {
  const want = name.toLowerCase();
  for (const k in headers) {
    if (k.toLowerCase() === want) {
      const v = headers[k];
      return Array.isArray(v) ? String(v[0]) : String(v);
    }
  }
  return '';
}

/** Returns the wait Retry-After asks for in ms (delta-seconds or an HTTP date), or null. */
function parseRetryAfter_(/** @type {string} */ value, /** @type {number} */ nowMs) {
  const v = String(value || '').trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** Returns the exponential backoff for the n-th consecutive failure (n >= 1), with jitter. */
function backoffDelay_(/** @type {number} */ n) {
  const d = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, Math.min(n - 1, 20)));
  return Math.round(d * (0.8 + 0.4 * Math.random()));
}

/** Persists a failure: later executions wait until the backoff has passed. */
function recordBackoff_(/** @type {Outcome} */ out) {
  const doc = PropertiesService.getDocumentProperties();
  const b = parseJson_(doc.getProperty(PROP.backoff), { failures: 0, until: 0 });
  b.failures += 1;
  const delay = Math.max(out.delayMs || 0, backoffDelay_(b.failures));
  b.until = Date.now() + delay;
  b.reason = out.message;
  doc.setProperty(PROP.backoff, JSON.stringify(b));
}

/** Forgets the backoff after a request got through. */
function clearBackoff_() {
  const doc = PropertiesService.getDocumentProperties();
  if (doc.getProperty(PROP.backoff)) doc.deleteProperty(PROP.backoff);
}

/** Returns the persisted backoff: {failures, until, reason} (until 0 when none). */
function loadBackoff_() {
  return parseJson_(PropertiesService.getDocumentProperties().getProperty(PROP.backoff), { failures: 0, until: 0, reason: '' });
}

/** Returns whether a run that is not manual must skip the gateway for now. */
function inBackoff_(/** @type {Ctx} */ ctx) {
  return !ctx.manual && loadBackoff_().until > Date.now();
}

/** Returns "?a=1&b=2" for the non-empty entries of `params`. */
function queryString_(/** @type {Object<string, *>} */ params) {
  const parts = [];
  for (const k in params) {
    if (params[k] === undefined || params[k] === null || params[k] === '') continue;
    parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(String(params[k])));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

/** Returns the message of an exception. */
function errorText_(/** @type {*} */ err) {
  return err && err.message ? String(err.message) : String(err);
}
