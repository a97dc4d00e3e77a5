#!/usr/bin/env node
// Runs the compiled server when it has been built (`npm run build`), else the TypeScript
// source directly (Node 24 strips the types).
import { existsSync } from 'node:fs';
const compiled = new URL('../dist/src/cli.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli.ts', import.meta.url).href);
