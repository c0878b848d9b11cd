#!/usr/bin/env node
/** Process entry of one chain node: the same as `tmi chain run <options>`. */
import { runNodeCommand } from './runNodeCommand.js';

const code = await runNodeCommand(process.argv.slice(2));
process.exit(code);
