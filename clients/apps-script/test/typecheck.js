#!/usr/bin/env node
// Type-checks the Apps Script sources with tsc --checkJs against @types/google-apps-script.
// tsc does not read .gs files, so each one is copied to <tmp>/<name>.js (same line numbers);
// errors are printed with the original .gs names. Exits non-zero on any error.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sheetsync-gs-typecheck-'));
try {
  const sources = fs.readdirSync(root).filter((f) => f.endsWith('.gs')).sort();
  for (const f of sources) fs.copyFileSync(path.join(root, f), path.join(tmp, f.replace(/\.gs$/, '.js')));
  const config = {
    compilerOptions: {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      target: 'ES2019',
      lib: ['ES2019'],
      types: ['google-apps-script'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      strict: false,
      noImplicitAny: false,
      noUnusedLocals: true,
      noUnusedParameters: false,
      noFallthroughCasesInSwitch: true,
      skipLibCheck: true,
    },
    include: ['*.js'],
  };
  fs.writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify(config, null, 2));
  const r = spawnSync(process.execPath, [tsc, '-p', tmp, '--pretty', 'false'], { encoding: 'utf8' });
  const out = (r.stdout + r.stderr).replace(/^\S*?([\w.]+)\.js\(/gm, '$1.gs(');
  if (r.status !== 0) {
    process.stderr.write(out);
    process.stderr.write(`typecheck: tsc --checkJs found errors in ${sources.length} .gs files\n`);
    process.exit(1);
  }
  console.log(`typecheck: ${sources.length} .gs files OK (tsc --checkJs, @types/google-apps-script)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
