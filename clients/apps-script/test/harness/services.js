// Fakes of the Apps Script services other than SpreadsheetApp and UrlFetchApp:
// PropertiesService (with the 9 KB / 500 KB quotas), LockService (locks owned by an
// execution, released when it ends), ScriptApp triggers, Utilities, Session, HtmlService,
// the spreadsheet Ui and a console that collects what the scripts log.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { formatDate } = require('./dates');

const PROPERTY_VALUE_LIMIT = 9 * 1024;  // bytes per value
const PROPERTY_STORE_LIMIT = 500 * 1024;  // bytes per store

function fail(message) {
  throw new Error(`Exception: ${message}`);
}

class Properties {
  constructor() {
    this.map = new Map();
  }

  size(extraKey, extraValue) {
    let n = 0;
    for (const [k, v] of this.map) if (k !== extraKey) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n + (extraKey === undefined ? 0 : Buffer.byteLength(extraKey) + Buffer.byteLength(extraValue));
  }

  getProperty(k) { return this.map.has(k) ? this.map.get(k) : null; }
  getProperties() { return Object.fromEntries(this.map); }
  getKeys() { return [...this.map.keys()]; }

  setProperty(k, v) {
    const value = String(v);
    if (Buffer.byteLength(value) > PROPERTY_VALUE_LIMIT) fail(`Argument too large: value (${Buffer.byteLength(value)} bytes for ${k})`);
    if (this.size(k, value) > PROPERTY_STORE_LIMIT) fail('You have exceeded the property storage quota. Please remove some properties and try again.');
    this.map.set(k, value);
    return this;
  }

  setProperties(obj, deleteAllOthers) {
    if (deleteAllOthers) this.map.clear();
    for (const k of Object.keys(obj)) this.setProperty(k, obj[k]);
    return this;
  }

  deleteProperty(k) { this.map.delete(k); return this; }
  deleteAllProperties() { this.map.clear(); return this; }
}

/** Locks of one script project; `env.execution` names the execution that calls. */
class LockSlots {
  constructor(env) {
    this.env = env;
    this.owner = { script: null, document: null, user: null };
    this.acquired = 0;
  }

  lock(kind) {
    const slots = this;
    const mine = () => slots.owner[kind] !== null && slots.owner[kind] === slots.env.execution;
    const free = () => slots.owner[kind] === null;
    return {
      tryLock(ms) {
        if (typeof ms !== 'number' || ms < 0) fail('Invalid argument: timeoutInMillis');
        if (mine()) return true;
        if (!free()) return false;
        slots.owner[kind] = slots.env.execution;
        slots.acquired++;
        return true;
      },
      waitLock(ms) {
        if (!this.tryLock(ms)) fail('Lock timeout: another process was holding the lock for too long.');
      },
      hasLock() { return mine(); },
      releaseLock() { if (mine()) slots.owner[kind] = null; },
    };
  }

  /** Releases what execution `id` still holds (Apps Script does so when an execution ends). */
  releaseAll(id) {
    const leaked = [];
    for (const k of Object.keys(this.owner)) {
      if (this.owner[k] === id) {
        this.owner[k] = null;
        leaked.push(k);
      }
    }
    return leaked;
  }
}

const EventType = { CLOCK: 'CLOCK', ON_OPEN: 'ON_OPEN', ON_EDIT: 'ON_EDIT', ON_FORM_SUBMIT: 'ON_FORM_SUBMIT', ON_CHANGE: 'ON_CHANGE' };
const AuthMode = { NONE: 'NONE', CUSTOM_FUNCTION: 'CUSTOM_FUNCTION', LIMITED: 'LIMITED', FULL: 'FULL' };
const TriggerSource = { SPREADSHEETS: 'SPREADSHEETS', CLOCK: 'CLOCK' };

function makeScriptApp(env) {
  const triggers = env.triggers;
  const make = (handler, eventType, source, extra) => {
    if (triggers.length >= 20) fail('This script has too many triggers. Triggers must be deleted from the script before more can be added.');
    const t = {
      id: crypto.randomUUID(), handler, eventType, source, ...extra,
      getHandlerFunction: () => handler,
      getEventType: () => eventType,
      getUniqueId: () => t.id,
      getTriggerSource: () => source,
      getTriggerSourceId: () => (source === TriggerSource.SPREADSHEETS ? env.spreadsheet.id : null),
    };
    triggers.push(t);
    return t;
  };
  return {
    EventType, AuthMode, TriggerSource,
    newTrigger(handler) {
      if (typeof handler !== 'string') fail('Invalid argument: functionName');
      return {
        forSpreadsheet(ss) {
          const id = typeof ss === 'string' ? ss : ss.getId();
          if (id !== env.spreadsheet.id) fail('The script can only add triggers for its own spreadsheet.');
          const builder = (type) => ({ create: () => make(handler, type, TriggerSource.SPREADSHEETS, {}) });
          return { onEdit: () => builder(EventType.ON_EDIT), onChange: () => builder(EventType.ON_CHANGE), onOpen: () => builder(EventType.ON_OPEN), onFormSubmit: () => builder(EventType.ON_FORM_SUBMIT) };
        },
        timeBased() {
          const spec = {};
          const b = {
            everyMinutes(n) {
              if (![1, 5, 10, 15, 30].includes(n)) fail('The value passed to everyMinutes must be 1, 5, 10, 15 or 30.');
              spec.minutes = n;
              return b;
            },
            everyHours(n) { spec.minutes = 60 * n; return b; },
            after(ms) { spec.after = ms; return b; },
            create: () => make(handler, EventType.CLOCK, TriggerSource.CLOCK, { spec }),
          };
          return b;
        },
      };
    },
    getProjectTriggers: () => triggers.slice(),
    getUserTriggers: () => triggers.slice(),
    deleteTrigger(t) {
      const i = triggers.findIndex((x) => x.id === t.getUniqueId());
      if (i >= 0) triggers.splice(i, 1);
    },
    getScriptId: () => `script-${env.spreadsheet.id}`,
  };
}

/** Sleeps for real (Utilities.sleep blocks the execution). */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function makeUtilities(env) {
  return {
    getUuid: () => crypto.randomUUID(),
    formatDate: (date, tz, pattern) => formatDate(date, tz, pattern),
    sleep(ms) {
      if (ms > 300000) fail('Invalid argument: milliseconds (at most 300000)');
      env.sleeps.push(ms);
      sleepSync(env.sleepScale === undefined ? ms : ms * env.sleepScale);
    },
    base64Encode: (s) => Buffer.from(String(s)).toString('base64'),
    base64Decode: (s) => [...Buffer.from(String(s), 'base64')].map((b) => (b > 127 ? b - 256 : b)),
  };
}

function makeSession(env) {
  const user = { getEmail: () => env.user };
  return {
    getScriptTimeZone: () => env.scriptTimeZone,
    getActiveUser: () => user,
    getEffectiveUser: () => user,
    getTemporaryActiveUserKey: () => `key-${env.user}`,
  };
}

class HtmlOutput {
  constructor(content) {
    this.content = String(content || '');
    this.title = '';
    this.width = 0;
    this.height = 0;
  }

  getContent() { return this.content; }
  setContent(c) { this.content = String(c); return this; }
  append(c) { this.content += String(c); return this; }
  getTitle() { return this.title; }
  setTitle(t) { this.title = String(t); return this; }
  setWidth(w) { this.width = w; return this; }
  setHeight(h) { this.height = h; return this; }
  getWidth() { return this.width; }
  getHeight() { return this.height; }
}

function makeHtmlService(projectDir) {
  return {
    createHtmlOutput: (html) => new HtmlOutput(html),
    createHtmlOutputFromFile(name) {
      const file = path.join(projectDir, `${name}.html`);
      if (!fs.existsSync(file)) fail(`No HTML file named ${name} was found.`);
      return new HtmlOutput(fs.readFileSync(file, 'utf8'));
    },
  };
}

/** SpreadsheetApp.getUi(): records menus, sidebars and dialogs; answers prompts from a queue. */
function makeUi(env) {
  const ButtonSet = { OK: 'OK', OK_CANCEL: 'OK_CANCEL', YES_NO: 'YES_NO', YES_NO_CANCEL: 'YES_NO_CANCEL' };
  const Button = { OK: 'OK', CANCEL: 'CANCEL', YES: 'YES', NO: 'NO', CLOSE: 'CLOSE' };
  const menu = (caption) => {
    const m = {
      caption, items: [],
      addItem(label, fn) { m.items.push({ label, fn }); return m; },
      addSeparator() { m.items.push({ separator: true }); return m; },
      addSubMenu(sub) { m.items.push({ sub }); return m; },
      addToUi() { env.ui.menus.push(m); },
    };
    return m;
  };
  return {
    ButtonSet, Button,
    createMenu: menu,
    createAddonMenu: () => menu('Add-ons'),
    alert(a, b) { env.ui.alerts.push(String(b === undefined ? a : `${a}: ${b}`)); return Button.OK; },
    prompt(title) {
      const answer = env.ui.promptAnswers.shift();
      if (answer === undefined) fail(`No scripted answer for prompt "${title}"`);
      return { getResponseText: () => answer, getSelectedButton: () => Button.OK };
    },
    showSidebar(html) { env.ui.sidebars.push(html); },
    showModalDialog(html, title) { env.ui.dialogs.push({ html, title }); },
    showModelessDialog(html, title) { env.ui.dialogs.push({ html, title }); },
  };
}

function makeConsole(env) {
  const record = (level) => (...args) => {
    const line = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    env.logs.push({ level, line });
    if (env.verbose) process.stderr.write(`[${env.spreadsheet.id} ${level}] ${line}\n`);
  };
  return { log: record('log'), info: record('info'), warn: record('warn'), error: record('error') };
}

module.exports = {
  Properties, LockSlots, makeScriptApp, makeUtilities, makeSession, makeHtmlService, makeUi,
  makeConsole, sleepSync, EventType, PROPERTY_VALUE_LIMIT, PROPERTY_STORE_LIMIT,
};
