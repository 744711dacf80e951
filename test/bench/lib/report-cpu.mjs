// Preloaded (--import) into processes the check suite starts: reports the process's CPU time
// (user + system, all threads) on stderr at exit, so a run's cost can be told apart from the
// waiting a loaded machine adds to its wall time. Plain JavaScript: it runs without tsx.
process.on('exit', () => {
  const u = process.cpuUsage();
  process.stderr.write(`\n[pamc-bench-cpu-us] ${u.user + u.system}\n`);
});
