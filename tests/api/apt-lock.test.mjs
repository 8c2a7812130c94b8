// apt-lock: scripts/run and scripts/test install what is missing through
// ensure_packages (scripts/lib/common.sh). When another apt process holds
// its lock (unattended-upgrades on a fresh machine), they wait for it
// instead of failing at once. No daemon and no real apt here: apt-get,
// dpkg-query and sudo are stand-ins that behave as apt 2.6 does with a lock
// held: `install` waits when given DPkg::Lock::Timeout, `update` fails at
// once on the lists lock whatever the options, and without the option both
// fail at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function standIns(dir) {
  const lock = join(dir, 'lock-held');
  const log = join(dir, 'apt.log');
  const script = (name, body) => {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  script('dpkg-query', 'exit 1 # nothing is installed');
  script('sudo', 'exec "$@"');
  script('apt-get', `
timeout=""
for a in "$@"; do case "$a" in DPkg::Lock::Timeout=*) timeout="\${a#*=}";; esac; done
cmd=""
for a in "$@"; do case "$a" in update|install) cmd="$a";; esac; done
if [ -e "${lock}" ]; then
  if [ "$cmd" = install ] && [ -n "$timeout" ]; then
    while [ -e "${lock}" ]; do sleep 0.2; done
  elif [ "$cmd" = update ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2; exit 100
  else
    echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
    echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
    exit 100
  fi
fi
echo "$cmd done" >> "${log}"`);
  return { lock, log };
}

function ensurePackages(dir, env = {}) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `source "${ROOT}/scripts/lib/common.sh"; ensure_packages fake-package`], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env },
    });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, err }));
  });
}

test('ensure_packages waits for another apt process to release its lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apt-lock-'));
  try {
    const { lock, log } = standIns(dir);
    writeFileSync(lock, '');
    const started = Date.now();
    const run = ensurePackages(dir);
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(!existsSync(log), 'nothing is done while the lock is held');
    rmSync(lock);
    const { code, err } = await run;
    assert.equal(code, 0, err);
    assert.ok(Date.now() - started >= 3000);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['update done', 'install done']);
    assert.match(err, /waiting/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ensure_packages still gives up after APT_LOCK_TIMEOUT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apt-lock-'));
  try {
    const { lock } = standIns(dir);
    writeFileSync(lock, '');
    const { code, err } = await ensurePackages(dir, { APT_LOCK_TIMEOUT: '2' });
    assert.notEqual(code, 0);
    assert.match(err, /Could not get lock/);
    assert.match(err, /apt-get update failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
