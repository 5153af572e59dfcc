// Preloaded into a load generator (node --require): prints the CPU it used, as one JSON line on
// stderr at exit, so a benchmark can charge each load generator its own cost per request.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`${JSON.stringify({ cpuMicros: user + system })}\n`);
});
