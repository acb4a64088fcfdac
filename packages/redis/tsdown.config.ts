import { defineConfig } from 'tsdown';
import { packageBuild } from '../../tsdown.config.base.js';

export default defineConfig(packageBuild(import.meta.dirname));
