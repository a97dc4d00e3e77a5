// Installs the Debian packages the test suite starts for real (redis-server, coturn's
// turnserver, Chromium for the browser end-to-end tests), when missing.
// CI and fresh machines run as root with apt; elsewhere it says what to install.
import { execFileSync, spawnSync } from 'node:child_process';

const needed: Record<string, string> = { 'redis-server': 'redis-server', turnserver: 'coturn', chromium: 'chromium' };

const missing = Object.entries(needed).filter(([binary]) => spawnSync('sh', ['-c', `command -v ${binary}`]).status !== 0);
if (missing.length > 0) {
  const packages = missing.map(([, pkg]) => pkg);
  if (process.getuid?.() !== 0) {
    console.error(`The test suite needs: ${packages.join(', ')}. Install them with: sudo apt-get install -y ${packages.join(' ')}`);
    process.exit(1);
  }
  console.log(`installing ${packages.join(', ')} for the test suite`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}
