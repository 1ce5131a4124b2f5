#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npm ci` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/cli/main.ts');
await run();
