// Preloaded into every benchmark target (`node --import ./bench/targets/parent-guard.ts …`):
// if bench/run.ts dies without stopping its children (e.g. SIGKILL), the target notices
// that it was re-parented and exits instead of listening forever. One check per second.

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
