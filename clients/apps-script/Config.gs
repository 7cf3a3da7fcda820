/**
 * sheetsync Apps Script client — constants, quotas, settings and the per-run context.
 *
 * The client keeps one sheet (tab) of this spreadsheet in sync with one MySQL table through the
 * sheetsync HTTP gateway (POST /v1/edits, GET /v1/changes, GET /v1/rows). Every execution
 * (a trigger, a menu item) is independent; what must survive between executions lives in
 * Script/Document Properties (settings, cursor, status) and in two hidden sheets (the edit queue
 * and the last synced values), guarded by LockService (Store.gs).
 *
 * Each batch size and time budget below names the quota it keeps the client under
 * (Apps Script "Quotas for Google Services", Sheets limits, the gateway contract).
 */

// ---- Time -----------------------------------------------------------------------------------
/** Script runtime is 6 min per execution (30 min on Workspace). A run starts no new request
 *  after this budget, leaving time to save state before Apps Script kills it. */
const RUN_BUDGET_MS = 4.5 * 60 * 1000;
/** Budget for the flush an onEdit trigger does right after queueing: edits in a burst each
 *  start an execution, and triggers share the daily trigger-runtime quota (90 min consumer,
 *  6 h Workspace), so the in-trigger flush stays short; the minute timer does the rest. */
const ON_EDIT_BUDGET_MS = 20 * 1000;
/** Time-driven triggers run at most every minute (the smallest everyMinutes interval). At
 *  ~1-2 s a run that is ~25-50 min/day of the 90 min/day consumer trigger-runtime quota. */
const SYNC_TRIGGER_MINUTES = 1;
/** LockService.waitLock: how long an execution waits for the queue (document) lock. */
const LOCK_WAIT_MS = 30 * 1000;

// ---- Requests -------------------------------------------------------------------------------
/** Gateway: at most 1000 changes and 1 MiB of body per POST /v1/edits (contract §2, 413
 *  otherwise). UrlFetchApp allows 50 MB, so the gateway's limits are the binding ones. */
const MAX_CHANGES_PER_REQUEST = 500;
const MAX_REQUEST_BYTES = 900 * 1024;
/** GET /v1/changes and /v1/rows page size (contract default 500, max 5000). UrlFetchApp allows
 *  20,000 calls/day (100,000 Workspace): a minute timer pulling one page uses 1,440. */
const PULL_PAGE_SIZE = 500;

// ---- Retries --------------------------------------------------------------------------------
/** Exponential backoff after a failed request: 1 s, 2 s, 4 s … capped at 15 min; a longer
 *  Retry-After (429/503) wins. Persisted, so later executions wait too. */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 15 * 60 * 1000;
/** Within one execution a retry sleeps (Utilities.sleep counts against the 6-min runtime) only
 *  when the wait is at most this long, and tries at most this many times. */
const MAX_IN_RUN_WAIT_MS = 30 * 1000;
const MAX_IN_RUN_ATTEMPTS = 4;

// ---- Storage --------------------------------------------------------------------------------
/** A cell holds at most 50,000 characters: JSON in the hidden sheets is split into chunks
 *  of this size over several cells of a row. */
const CELL_CHUNK_CHARS = 45000;
/** PropertiesService: 9 KB per value, 500 KB per store. The status object is trimmed to fit. */
const STATUS_MAX_CHARS = 8000;
const STATUS_MAX_ERRORS = 10;
const STATUS_MAX_REJECTED = 20;

// ---- Developer metadata ----------------------------------------------------------------------
/** Sheets stores at most 30,000 characters of developer metadata (key + value characters)
 *  per sheet, and 30,000 more for the spreadsheet itself. A row tag ("sheetsync.row" + UUID)
 *  costs 49, so per-row metadata fits only ~500 rows: the UUID key column is the row identity
 *  and row metadata is added only while it fits (README, "Row identity"). */
const SHEET_METADATA_LIMIT_CHARS = 30000;
/** Left free for the column tags and for other add-ons' metadata on the same sheet. */
const METADATA_RESERVE_CHARS = 5000;
/** Each addDeveloperMetadata is one Sheets call; a run adds at most this many row tags. */
const ROW_METADATA_ADDS_PER_RUN = 100;
/** Metadata keys (whole-column and whole-row locations, document visibility). */
const COL_MD_KEY = 'sheetsync.col';
const ROW_MD_KEY = 'sheetsync.row';

// ---- Names ----------------------------------------------------------------------------------
const QUEUE_SHEET = '_sheetsync_queue';
const STATE_SHEET = '_sheetsync_state';
const KEY_PROTECTION = 'sheetsync: row keys (UUIDs) — do not edit';
const NOTE_PREFIX = 'sheetsync: ';
const COLUMN_KINDS = ['auto', 'text', 'number', 'boolean', 'date', 'datetime', 'time'];

/** Property keys. The token is in Script Properties; the rest in Document Properties. */
const PROP = {
  url: 'sheetsync.url',
  token: 'sheetsync.token',
  table: 'sheetsync.table',
  sheet: 'sheetsync.sheet',
  sheetId: 'sheetsync.sheet_id',
  key: 'sheetsync.key_column',
  kinds: 'sheetsync.kinds',
  columns: 'sheetsync.columns',
  cursor: 'sheetsync.cursor',
  resync: 'sheetsync.resync',
  backoff: 'sheetsync.backoff',
  status: 'sheetsync.status',
  stamp: 'sheetsync.last_stamp_us',
};

/**
 * @typedef {Object} Settings
 * @property {string} url gateway base URL, no trailing slash
 * @property {string} token bearer token
 * @property {string} table MySQL table
 * @property {string} sheetName the synced sheet (tab)
 * @property {number} sheetId that tab's getSheetId() (survives renames), 0 when not known
 * @property {string} keyColumn the table's key column (UUIDs)
 * @property {Object<string, string>} kinds column name -> one of COLUMN_KINDS
 * @property {string[]} columns table columns known at Connect (headers adopted by name)
 */

/** Returns the saved settings, or null when this spreadsheet is not connected. */
function loadSettings_() {
  const doc = PropertiesService.getDocumentProperties();
  const url = doc.getProperty(PROP.url);
  const table = doc.getProperty(PROP.table);
  const token = PropertiesService.getScriptProperties().getProperty(PROP.token);
  if (!url || !table || !token) return null;
  return {
    url: url,
    token: token,
    table: table,
    sheetName: doc.getProperty(PROP.sheet) || '',
    sheetId: Number(doc.getProperty(PROP.sheetId) || 0),
    keyColumn: doc.getProperty(PROP.key) || 'uuid',
    kinds: parseJson_(doc.getProperty(PROP.kinds), {}),
    columns: parseJson_(doc.getProperty(PROP.columns), []),
  };
}

/** Saves settings: the token in Script Properties, the rest in Document Properties. */
function saveSettings_(/** @type {Settings} */ s) {
  PropertiesService.getScriptProperties().setProperty(PROP.token, s.token);
  PropertiesService.getDocumentProperties().setProperties({
    [PROP.url]: s.url,
    [PROP.table]: s.table,
    [PROP.sheet]: s.sheetName,
    [PROP.sheetId]: String(s.sheetId || ''),
    [PROP.key]: s.keyColumn,
    [PROP.kinds]: JSON.stringify(s.kinds),
    [PROP.columns]: JSON.stringify(s.columns),
  });
}

/**
 * @typedef {Object} Ctx  What one execution works with; lives as long as the execution.
 * @property {Settings} settings
 * @property {GoogleAppsScript.Spreadsheet.Spreadsheet} ss
 * @property {GoogleAppsScript.Spreadsheet.Sheet} sheet
 * @property {string} tz spreadsheet time zone
 * @property {string} spreadsheetId origin of our edits, excluded from our pulls
 * @property {number} deadline epoch ms after which no new request starts
 * @property {boolean} manual started by a person (menu): ignores the persisted backoff
 * @property {Object} status loaded status (Store.gs), saved at the end of the run
 * @property {Object<string, RowState>|null} state last synced values, loaded on first use
 * @property {boolean} stateDirty
 * @property {number} metadataAdds row metadata tags added in this run
 * @property {number} resyncGen generation of the snapshot resync in progress, 0 when none
 */

/** Returns the context of a run, or throws when the synced sheet is gone. */
function newContext_(/** @type {Settings} */ settings, /** @type {{budgetMs?: number, manual?: boolean}} */ opts) {
  const ss = SpreadsheetApp.getActiveSpreadsheet();
  const sheet = ss.getSheetByName(settings.sheetName);
  if (!sheet) throw new Error('The synced sheet "' + settings.sheetName + '" is missing; reconnect (sheetsync → Connect…).');
  return {
    settings: settings,
    ss: ss,
    sheet: sheet,
    tz: ss.getSpreadsheetTimeZone(),
    spreadsheetId: ss.getId(),
    deadline: Date.now() + (opts.budgetMs || RUN_BUDGET_MS),
    manual: !!opts.manual,
    status: loadStatus_(),
    state: null,
    stateDirty: false,
    metadataAdds: 0,
    resyncGen: (parseJson_(PropertiesService.getDocumentProperties().getProperty(PROP.resync), null) || {}).gen || 0,
  };
}

/** Returns whether the run still has time to start another request. */
function hasTime_(/** @type {Ctx} */ ctx) {
  return Date.now() < ctx.deadline;
}

/** Returns JSON.parse(text), or `fallback` when text is empty or not JSON. */
function parseJson_(/** @type {string|null} */ text, /** @type {*} */ fallback) {
  if (!text) return fallback;
  try {
    return JSON.parse(text);
  } catch (err) {
    return fallback;
  }
}
