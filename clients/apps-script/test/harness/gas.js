// One Apps Script project bound to one spreadsheet, run in Node: the .gs files of
// clients/apps-script are loaded unchanged into one vm context whose globals are the fakes.
//
//   const env = createEnv({ spreadsheetId: 'sheet-a', timeZone: 'Europe/Berlin' });
//   env.call('connect', {...});          // a function run as one execution
//   env.user.edit('B2', 'Ada');          // a person types; installable onEdit triggers fire
//   env.user.deleteRows(3, 1);           // onChange REMOVE_ROW fires
//   env.tick();                          // every time-driven trigger runs once
//
// Each call is one execution: locks still held when it ends are released (and counted in
// env.leakedLocks), as Apps Script does. Edits a script makes fire no trigger.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { Spreadsheet, makeSpreadsheetApp, isDate } = require('./spreadsheet');
const services = require('./services');
const { makeUrlFetchApp } = require('./url_fetch');
const { wallFields } = require('./dates');

const PROJECT_DIR = path.resolve(__dirname, '..', '..');

/** Returns the .gs files of the project, in name order. */
function projectSources(dir = PROJECT_DIR) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.gs')).sort();
}

function createEnv(opts = {}) {
  const env = {
    triggers: [],
    logs: [],
    fetchLog: [],
    sleeps: [],
    leakedLocks: [],
    triggerErrors: [],
    execution: null,
    executions: 0,
    user: opts.user || 'owner@example.com',
    scriptTimeZone: opts.scriptTimeZone || 'Etc/UTC',
    verbose: !!opts.verbose || !!process.env.SHEETSYNC_HARNESS_VERBOSE,
    sleepScale: opts.sleepScale,
    ui: { menus: [], alerts: [], sidebars: [], dialogs: [], promptAnswers: [] },
  };
  const context = vm.createContext({});
  const realm = { Date: vm.runInContext('Date', context) };
  env.spreadsheet = new Spreadsheet({
    id: opts.spreadsheetId || 'test-spreadsheet', name: opts.name, timeZone: opts.timeZone || 'Europe/Berlin',
    owner: env.user, realm,
  });
  env.spreadsheet.insertSheet(opts.sheetName || 'Sheet1');
  env.locks = new services.LockSlots(env);
  env.props = { script: new services.Properties(), document: new services.Properties(), user: new services.Properties() };
  const ui = services.makeUi(env);
  Object.assign(context, {
    SpreadsheetApp: makeSpreadsheetApp(env.spreadsheet, ui),
    UrlFetchApp: makeUrlFetchApp(env),
    Utilities: services.makeUtilities(env),
    LockService: {
      getScriptLock: () => env.locks.lock('script'),
      getDocumentLock: () => env.locks.lock('document'),
      getUserLock: () => env.locks.lock('user'),
    },
    PropertiesService: {
      getScriptProperties: () => env.props.script,
      getDocumentProperties: () => env.props.document,
      getUserProperties: () => env.props.user,
    },
    ScriptApp: services.makeScriptApp(env),
    Session: services.makeSession(env),
    HtmlService: services.makeHtmlService(opts.projectDir || PROJECT_DIR),
    Logger: { log: (...a) => { env.logs.push({ level: 'log', line: a.join(' ') }); } },
    console: services.makeConsole(env),
  });
  const dir = opts.projectDir || PROJECT_DIR;
  for (const f of projectSources(dir)) {
    vm.runInContext(fs.readFileSync(path.join(dir, f), 'utf8'), context, { filename: path.join(dir, f) });
  }
  env.context = context;
  env.sheet = (name) => env.spreadsheet.getSheetByName(name || opts.sheetName || 'Sheet1');
  env.call = (fn, ...args) => runExecution(env, fn, args);
  env.eval = (code) => vm.runInContext(code, context);
  // Runs a snippet of script code as one execution (locks are released after, as in Apps Script).
  env.run = (code) => {
    context.__harnessSnippet = vm.runInContext(`(function () { ${code} })`, context);
    return runExecution(env, '__harnessSnippet', []);
  };
  env.tick = () => fireTriggers(env, 'CLOCK', () => ({ authMode: 'FULL', triggerUid: 'clock' }));
  env.open = () => env.call('onOpen', { source: env.spreadsheet, authMode: 'LIMITED' });
  env.holdLock = (kind) => holdLock(env, kind);
  env.user = userActions(env, opts.sheetName || 'Sheet1');
  env.values = (name) => gridValues(env.sheet(name));
  return env;
}

/** Runs context function `fn` as one execution. */
function runExecution(env, fn, args) {
  const f = env.context[fn];
  if (typeof f !== 'function') throw new Error(`harness: no function ${fn} in the Apps Script project`);
  const outer = env.execution;
  const id = `exec-${++env.executions}`;
  env.execution = id;
  try {
    return f(...args);
  } finally {
    const leaked = env.locks.releaseAll(id);
    if (leaked.length) env.leakedLocks.push({ fn, leaked });
    env.execution = outer;
  }
}

/** Makes another "execution" hold a lock until the returned release() is called. */
function holdLock(env, kind) {
  const id = `holder-${++env.executions}`;
  if (env.locks.owner[kind] !== null) throw new Error(`harness: ${kind} lock is already held`);
  env.locks.owner[kind] = id;
  return () => { if (env.locks.owner[kind] === id) env.locks.owner[kind] = null; };
}

function fireTriggers(env, eventType, makeEvent) {
  const results = [];
  for (const t of env.triggers.filter((x) => x.eventType === eventType)) {
    const e = { ...makeEvent(), triggerUid: t.id };
    try {
      results.push(env.call(t.handler, e));
    } catch (err) {
      env.triggerErrors.push({ handler: t.handler, error: err });
      throw err;
    }
  }
  return results;
}

/** Returns e.oldValue as Apps Script gives it: a string, or undefined for an empty cell. */
function oldValueText(v, tz) {
  if (v === '' || v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (isDate(v)) {
    const w = wallFields(v.getTime(), tz);
    return String((Date.UTC(w.y, w.M - 1, w.d, w.H, w.m, w.s, w.S) - Date.UTC(1899, 11, 30)) / 86400000);
  }
  return String(v);
}

/** What a person does in the sheet; each action fires the triggers Sheets would fire. */
function userActions(env, defaultSheet) {
  const sheetOf = (name) => env.sheet(name || defaultSheet);
  const checkProtected = (sheet, range) => {
    for (const p of sheet.protections) {
      for (let r = range.getRow(); r <= range.getLastRow(); r++) {
        for (let c = range.getColumn(); c <= range.getLastColumn(); c++) {
          if (!p.covers(r, c)) continue;
          if (p.isWarningOnly()) env.protectionWarnings = (env.protectionWarnings || 0) + 1;
          else if (!p.editors.includes(env.actingUser || env.user)) throw new Error('You are trying to edit a protected cell or object.');
          return;
        }
      }
    }
  };
  const fireEdit = (range, value, oldValue) => fireTriggers(env, 'ON_EDIT', () => ({
    range, value, oldValue, source: env.spreadsheet, user: { getEmail: () => env.actingUser || env.user }, authMode: 'FULL',
  }));
  const fireChange = (changeType) => fireTriggers(env, 'ON_CHANGE', () => ({
    changeType, source: env.spreadsheet, user: { getEmail: () => env.actingUser || env.user }, authMode: 'FULL',
  }));
  return {
    /** Types `values` (a value or a 2-D array, as text a person types) at a1 (top-left). */
    edit(a1, values, { sheet: sheetName, as } = {}) {
      const sheet = sheetOf(sheetName);
      const grid = Array.isArray(values) ? values : [[values]];
      const top = sheet.getRange(a1);
      const range = sheet.getRange(top.getRow(), top.getColumn(), grid.length, grid[0].length);
      env.actingUser = as;
      try {
        checkProtected(sheet, range);
        const single = grid.length === 1 && grid[0].length === 1;
        const old = single ? oldValueText(range.getValue(), env.spreadsheet.timeZone) : undefined;
        range.setValues(grid);
        const value = single ? (grid[0][0] === '' ? undefined : String(grid[0][0])) : undefined;
        return fireEdit(range, value, old);
      } finally {
        env.actingUser = undefined;
      }
    },
    /** Clears the content of a range (Delete key). */
    clear(a1, { sheet: sheetName } = {}) {
      const sheet = sheetOf(sheetName);
      const range = sheet.getRange(a1);
      checkProtected(sheet, range);
      const single = range.getNumRows() === 1 && range.getNumColumns() === 1;
      const old = single ? oldValueText(range.getValue(), env.spreadsheet.timeZone) : undefined;
      range.clearContent();
      return fireEdit(range, undefined, old);
    },
    insertRows(before, n = 1, { sheet: sheetName } = {}) {
      sheetOf(sheetName).insertRowsBefore(before, n);
      return fireChange('INSERT_ROW');
    },
    deleteRows(start, n = 1, { sheet: sheetName } = {}) {
      sheetOf(sheetName).deleteRows(start, n);
      return fireChange('REMOVE_ROW');
    },
    /** Sorts the rows below the header by a column (Data → Sort range): no onEdit. */
    sort(column, ascending = true, { sheet: sheetName } = {}) {
      const sheet = sheetOf(sheetName);
      const last = sheet.getLastRow();
      if (last > 2) sheet.getRange(2, 1, last - 1, sheet.getMaxColumns()).sort({ column, ascending });
      return fireChange('OTHER');
    },
    moveColumn(from, to, { sheet: sheetName } = {}) {
      const sheet = sheetOf(sheetName);
      sheet.moveColumns(sheet.getRange(1, from, 1, 1), to);
      return fireChange('OTHER');
    },
    insertColumn(before, { sheet: sheetName } = {}) {
      sheetOf(sheetName).insertColumnsBefore(before, 1);
      return fireChange('INSERT_COLUMN');
    },
    deleteColumn(column, { sheet: sheetName } = {}) {
      sheetOf(sheetName).deleteColumns(column, 1);
      return fireChange('REMOVE_COLUMN');
    },
  };
}

/** Returns the used part of a sheet as plain values (Dates as ISO strings). */
function gridValues(sheet) {
  const rows = sheet.getLastRow();
  const cols = sheet.getLastColumn();
  if (!rows || !cols) return [];
  return sheet.getRange(1, 1, rows, cols).getValues().map((r) => r.map((v) => (isDate(v) ? v.toISOString() : v)));
}

module.exports = { createEnv, projectSources, PROJECT_DIR };
