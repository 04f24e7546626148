// `npm run dev`: wrangler dev with .dev.vars, or the committed demo consumers when there is none.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const args = ['wrangler', 'dev', ...process.argv.slice(2)];
if (!existsSync('.dev.vars')) args.push('--env-file', '.dev.vars.example');
const child = spawn('npx', args, { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
