// SPDX-License-Identifier: Apache-2.0
// Every child process the harness starts is registered here and killed when
// the test process exits, however it exits.
const children = new Set();
let installed = false;

function killAll() {
  for (const c of children) {
    try { if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  children.clear();
}

function install() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => { killAll(); process.exit(130); });
  }
  process.on('uncaughtException', (e) => { killAll(); console.error(e); process.exit(1); });
}

export function track(child) {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/* Wait for a child to exit, at most timeoutMs. Resolves {code, signal} or
 * null on timeout. */
export function waitExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const t = setTimeout(() => { child.off('exit', onExit); resolve(null); }, timeoutMs);
    function onExit(code, signal) { clearTimeout(t); resolve({ code, signal }); }
    child.once('exit', onExit);
  });
}

/* Terminate a child: signal, then SIGKILL after graceMs. */
export async function terminate(child, signal = 'SIGTERM', graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try { child.kill(signal); } catch { /* gone */ }
  const r = await waitExit(child, graceMs);
  if (r) return r;
  try { child.kill('SIGKILL'); } catch { /* gone */ }
  return waitExit(child, 5000);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Poll fn() until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e && e.fatal) throw e;
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
    }
    await sleep(intervalMs);
  }
}
