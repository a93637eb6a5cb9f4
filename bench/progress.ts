/** Human-readable progress on stdout; the run's last stdout line is the JSON report. */
export function progress(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}`);
}
